// name: shared_phone
// title: Own phone numbers shared by distinct applicants within a window
// finds: One mobile number given as the applicant's own phone on the applications of several
//   applicants, from at least two addresses, within window_days of one another.
// why: A mobile number belongs to one person. Recycled and synthetic identities reuse the
//   organiser's few SIM cards for their verification calls and SMS codes. Numbers on more than
//   max_applications applications or max_applicants applicants (switchboards, typos, dummy
//   numbers) are cut by degree before expansion. Only USES_PHONE counts: naming someone as an
//   emergency contact is a different relationship (see contact_cycle and shared_contact). A
//   household sharing a landline is excluded: applicants at one address count once.
// params:
// :param window_days => 30
// :param min_applicants => 2
// :param max_applicants => 10
// :param max_applications => 30
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
// degree and "two applicants or more" (min <> max: far cheaper than count(DISTINCT) on
// LadybugDB) in one pass over the links: the Phone table is twice the Application table,
// so a separate COUNT pass and a second expansion cost more than grouping the links once.
// Repeat customers, the only users of their own identifiers, drop out here
MATCH (x:Phone)<-[:USES_PHONE]-(a:Application)
WITH x, count(a) AS uses, min(a.applicant_id) AS first_applicant,
     max(a.applicant_id) AS last_applicant
WHERE uses >= $min_applicants AND uses <= $max_applications
  AND first_applicant <> last_applicant
// hubs are cut. The survivors' applications become small maps, paired in memory below
MATCH (x)<-[:USES_PHONE]-(a:Application)
OPTIONAL MATCH (a)-[:AT_ADDRESS]->(home:Address)
WITH x, uses, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at,
              h: coalesce(home.value, a.applicant_id)}) AS apps
WHERE people >= $min_applicants AND people <= $max_applicants
UNWIND apps AS a
UNWIND apps AS b
WITH x, uses, people, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
// a member has min_applicants applicants (itself included) within one window of it
WITH x, uses, people, a, count(DISTINCT b.p) AS near
WHERE near >= $min_applicants
WITH x, uses, people, collect(a.id) AS members, count(DISTINCT a.p) AS applicants,
     count(DISTINCT a.h) AS households, min(a.t) AS first_seen, max(a.t) AS last_seen
WHERE applicants >= $min_applicants AND households >= 2
// effective households: the count, discounted as the group spreads beyond one window
WITH x, uses, people, members, applicants, households, first_seen, last_seen,
     (last_seen - first_seen) / 86400 AS days,
     1.0 * households * $window_days * 86400
       / ($window_days * 86400 + last_seen - first_seen) AS effective
WHERE effective > 1.0
// the key is read last, for the rows returned only: read before the expansions, every
// identifier's value was carried through them (measured slower on LadybugDB at 1M)
RETURN 'Phone:' + x.value AS key, 'Phone' AS kind, x.value AS value, members, applicants,
       (1.0 - 1.0 / effective) * (0.5 + 0.5 * applicants / people) AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       CASE WHEN households >= 10 THEN right(left('0123456789', households / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', households % 10 + 1), 1)
       + ' households within '
       + CASE WHEN days >= 100 THEN right(left('0123456789', days / 100 % 10 + 1), 1)
              ELSE '' END
       + CASE WHEN days >= 10 THEN right(left('0123456789', days / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', days % 10 + 1), 1)
       + ' days (the number is on '
       + CASE WHEN uses >= 10 THEN right(left('0123456789', uses / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', uses % 10 + 1), 1)
       + ' applications in all)' AS detail
