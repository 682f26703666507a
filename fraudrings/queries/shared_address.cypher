// name: shared_address
// title: Addresses shared by several applicants within a short window
// finds: One residential address on the applications of at least min_applicants applicants
//   within window_days of one another.
// why: Synthetic identities and bust-out sleepers are registered at a few flats the organiser
//   controls, and they borrow in bursts. Families share an address too, but their members apply
//   months apart: hence three applicants by default and a short window, and strength falls as the
//   group spreads beyond one window and with the address's lifetime applicants outside the group.
//   Buildings, hostels and placeholder addresses with more than max_applications applications or
//   max_applicants applicants are cut by degree before expansion.
// params:
// :param window_days => 14
// :param min_applicants => 3
// :param max_applicants => 12
// :param max_applications => 25
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
// degree first, by COUNT (LadybugDB counts adjacency lists far faster than it groups edges)
MATCH (x:Address)
WITH x, COUNT { MATCH (x)<-[:AT_ADDRESS]-(:Application) } AS uses
WHERE uses >= $min_applicants AND uses <= $max_applications
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (x)<-[:AT_ADDRESS]-(a:Application)
WITH x, uses, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
// hubs are cut. The survivors' applications become small maps, paired in memory below
MATCH (x)<-[:AT_ADDRESS]-(a:Application)
WITH x, uses, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at}) AS apps
WHERE people >= $min_applicants AND people <= $max_applicants
UNWIND apps AS a
UNWIND apps AS b
WITH x, uses, people, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
// a member has min_applicants applicants (itself included) within one window of it
WITH x, uses, people, a, count(DISTINCT b.p) AS near
WHERE near >= $min_applicants
WITH x, uses, people, collect(a.id) AS members, count(DISTINCT a.p) AS applicants,
     min(a.t) AS first_seen, max(a.t) AS last_seen
WHERE applicants >= $min_applicants
// effective applicants: the count, discounted as the group spreads beyond one window
WITH x, uses, people, members, applicants, first_seen, last_seen,
     (last_seen - first_seen) / 86400 AS days,
     1.0 * applicants * $window_days * 86400
       / ($window_days * 86400 + last_seen - first_seen) AS effective
WHERE effective > 1.0
// the key is read last, for the rows returned only: read before the expansions, every
// identifier's value was carried through them (measured slower on LadybugDB at 1M)
RETURN 'Address:' + x.value AS key, 'Address' AS kind, x.value AS value, members, applicants,
       (1.0 - 1.0 / effective) * (0.5 + 0.5 * applicants / people) AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       CASE WHEN applicants >= 10 THEN right(left('0123456789', applicants / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', applicants % 10 + 1), 1)
       + ' applicants within '
       + CASE WHEN days >= 100 THEN right(left('0123456789', days / 100 % 10 + 1), 1)
              ELSE '' END
       + CASE WHEN days >= 10 THEN right(left('0123456789', days / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', days % 10 + 1), 1)
       + ' days (the address has '
       + CASE WHEN people >= 10 THEN right(left('0123456789', people / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', people % 10 + 1), 1)
       + ' applicants in all)' AS detail
