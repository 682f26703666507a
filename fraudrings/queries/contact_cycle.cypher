// name: contact_cycle
// title: Applicants naming each other as emergency contacts in closed cycles
// finds: Groups of at least min_applicants applicants, at different addresses and within
//   window_days, whose emergency contacts close short cycles: A names B's own phone and B names
//   A's (reciprocal), or A, B and C are linked pairwise (a triangle).
// why: Ring members are each other's references, so the lender's verification calls reach
//   accomplices. Honest applicants name relatives and friends who rarely borrow in the same
//   weeks and almost never name each other back in a triangle. Relatives naming each other is
//   ordinary: a link between two applications at one address does not count. A phone owned or
//   named by more than max_phone_applications applications (a switchboard, a dummy number) is
//   cut by degree before any link is built. The cycles are then found by grouping links and
//   wedges by their pair of applications, never by expanding paths.
// params:
// :param window_days => 30
// :param min_applicants => 3
// :param max_phone_applications => 20
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
// 1. phones that link people without being hubs: someone's own phone, named as a contact, and
//    neither owned nor named by more than max_phone_applications applications
MATCH (ph:Phone)
WITH ph, COUNT { MATCH (ph)<-[:USES_PHONE]-(:Application) } AS owners,
     COUNT { MATCH (ph)<-[:LISTS_CONTACT]-(:Application) } AS listers
WHERE owners >= 1 AND listers >= 1
  AND owners <= $max_phone_applications AND listers <= $max_phone_applications
// 2. contact links: a names b's own phone (different applicants, within the window)
MATCH (a:Application)-[:LISTS_CONTACT]->(ph)<-[:USES_PHONE]-(b:Application)
WHERE a.applicant_id <> b.applicant_id
  AND abs(a.applied_at - b.applied_at) <= $window_days * 86400
WITH DISTINCT a, b
OPTIONAL MATCH (a)-[:AT_ADDRESS]->(ah:Address)
OPTIONAL MATCH (b)-[:AT_ADDRESS]->(bh:Address)
WITH a, b, ah, bh
WHERE ah IS NULL OR bh IS NULL OR ah <> bh
WITH {id: a.application_id, p: a.applicant_id, t: a.applied_at} AS a,
     {id: b.application_id, p: b.applicant_id, t: b.applied_at} AS b,
     a.application_id AS lister
// 3. undirected pairs: two directions = reciprocal
WITH CASE WHEN a.id < b.id THEN a ELSE b END AS lo,
     CASE WHEN a.id < b.id THEN b ELSE a END AS hi, lister
WITH lo, hi, count(DISTINCT lister) AS directions
// 4. each application's contact neighbours
UNWIND [{me: lo, other: hi, d: directions}, {me: hi, other: lo, d: directions}] AS e
WITH e.me AS me, collect({o: e.other, d: e.d}) AS near
// 5. one row per pair seen from me: a link (me, b) once, and a wedge (b, c) centred on me:
//    grouping rows by pair joins links to wedges: a pair with both closes a triangle
UNWIND near AS x
UNWIND [{o: me, d: 0}] + near AS y
WITH me, x, y
WHERE (y.o.id = me.id AND me.id < x.o.id) OR (y.o.id <> me.id AND x.o.id < y.o.id)
WITH CASE WHEN y.o.id = me.id THEN me ELSE x.o END AS lo,
     CASE WHEN y.o.id = me.id THEN x.o ELSE y.o END AS hi,
     CASE WHEN y.o.id = me.id THEN x.d ELSE 0 END AS directions,
     CASE WHEN y.o.id = me.id THEN 1 ELSE 0 END AS link,
     CASE WHEN y.o.id = me.id THEN NULL ELSE me END AS centre
WITH lo, hi, max(directions) AS directions, max(link) AS link, collect(centre) AS centres
WHERE link = 1 AND (directions = 2 OR size(centres) > 0)
// 6. cycles into groups: every cyclic pair (with its triangles' third members) is a small
//    group. Three rounds of min-label propagation between groups and their members merge
//    overlapping groups, enough for any cycle of a dozen (there is no recursion to lean on)
UNWIND [lo, hi] + centres AS m
WITH lo.id + ' ' + hi.id AS part, m
WITH part, collect(m) AS ms, min(m.id) AS label
UNWIND ms AS m
WITH m.id AS id, m.p AS p, m.t AS t, collect(part) AS parts, min(label) AS label
UNWIND parts AS part
WITH part, collect({id: id, p: p, t: t}) AS ms, min(label) AS label
UNWIND ms AS m
WITH m.id AS id, m.p AS p, m.t AS t, collect(part) AS parts, min(label) AS label
UNWIND parts AS part
WITH part, collect({id: id, p: p, t: t}) AS ms, min(label) AS label
UNWIND ms AS m
WITH m.id AS id, m.p AS p, m.t AS t, min(label) AS label
WITH label AS anchor, collect(id) AS members, count(DISTINCT p) AS applicants,
     min(t) AS first_seen, max(t) AS last_seen
WHERE applicants >= $min_applicants
WITH anchor, members, applicants, first_seen, last_seen,
     1.0 * applicants * $window_days * 86400
       / ($window_days * 86400 + last_seen - first_seen) AS effective
WHERE effective > 1.0
RETURN 'ContactCycle:' + anchor AS key, 'ContactCycle' AS kind, anchor AS value, members,
       applicants, 1.0 - 1.0 / effective AS strength, first_seen, last_seen,
       'applicants from different addresses name each other as emergency contacts' AS detail
