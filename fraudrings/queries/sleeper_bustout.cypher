// name: sleeper_bustout
// title: Sleeper identities waking up together and sharing an identifier (bust-out)
// finds: Applicants who come back after at least dormant_days without applying and, within
//   window_days of each other, share a bank account, an address or a device.
// why: Bust-out rings season identities: each borrows once, repays, goes quiet, and then all
//   of them borrow the maximum at once, paid into the ring's accounts. One returning customer
//   is ordinary (repeat customers come back months apart), several returning at once onto the
//   same account or flat is not. Shop tablets, call-centre workstations and other identifiers
//   on more than max_identifier_applications applications are cut by degree before anything
//   is expanded, and identities with more than max_applications applications (test or
//   placeholder identities) are skipped. IPs are left out: carrier and office addresses make
//   everyone a neighbour. One branch per identifier kind, each starting from the identifiers.
// params:
// :param dormant_days => 60
// :param window_days => 14
// :param min_applicants => 2
// :param max_applications => 30
// :param max_identifier_applications => 40
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (s:BankAccount)
WITH s, COUNT { MATCH (s)<-[:PAYS_TO]-(:Application) } AS uses
WHERE uses >= $min_applicants AND uses <= $max_identifier_applications
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (s)<-[:PAYS_TO]-(a:Application)
WITH s, uses, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (s)<-[:PAYS_TO]-(a:Application)-[:BY_APPLICANT]->(x:Applicant)
// only returning applicants can wake up: their history is all that gets expanded
WITH s, uses, a, x, COUNT { MATCH (x)<-[:BY_APPLICANT]-(:Application) } AS history
WHERE history >= 2 AND history <= $max_applications
MATCH (x)<-[:BY_APPLICANT]-(b:Application)
// an awakening: the applicant's previous application is at least dormant_days older
WITH s, uses, a, max(CASE WHEN b.applied_at < a.applied_at THEN b.applied_at END) AS previous
WHERE previous IS NOT NULL AND a.applied_at - previous >= $dormant_days * 86400
WITH s, uses, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at,
              slept: a.applied_at - previous}) AS woke
WHERE people >= $min_applicants
// pair the awakenings on this identifier that lie within one window of each other
UNWIND woke AS a
UNWIND woke AS b
WITH s, uses, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
WITH s, uses, a, count(DISTINCT b.p) AS near
WHERE near >= $min_applicants
WITH s, uses, collect(a.id) AS members, count(DISTINCT a.p) AS applicants,
     min(a.t) AS first_seen, max(a.t) AS last_seen, min(a.slept) AS slept
WHERE applicants >= $min_applicants
WITH s, uses, members, applicants, first_seen, last_seen, slept / 86400 AS slept_days,
     1.0 * applicants * $window_days * 86400
       / ($window_days * 86400 + last_seen - first_seen) AS effective
WHERE effective > 1.0
// the key is read last, for the rows returned only: read before the expansions, every
// identifier's value was carried through them (measured slower on LadybugDB at 1M)
RETURN 'BankAccount:' + s.value AS key, 'BankAccount' AS kind, s.value AS value, members,
       applicants,
       (1.0 - 1.0 / effective) * (0.5 + 0.5 * applicants / uses) AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       CASE WHEN applicants >= 10 THEN right(left('0123456789', applicants / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', applicants % 10 + 1), 1)
       + ' applicants back after at least '
       + CASE WHEN slept_days >= 100 THEN right(left('0123456789', slept_days / 100 % 10 + 1), 1)
              ELSE '' END
       + CASE WHEN slept_days >= 10 THEN right(left('0123456789', slept_days / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', slept_days % 10 + 1), 1)
       + ' quiet days share this bank account' AS detail
UNION ALL
MATCH (s:Address)
WITH s, COUNT { MATCH (s)<-[:AT_ADDRESS]-(:Application) } AS uses
WHERE uses >= $min_applicants AND uses <= $max_identifier_applications
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (s)<-[:AT_ADDRESS]-(a:Application)
WITH s, uses, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (s)<-[:AT_ADDRESS]-(a:Application)-[:BY_APPLICANT]->(x:Applicant)
// only returning applicants can wake up: their history is all that gets expanded
WITH s, uses, a, x, COUNT { MATCH (x)<-[:BY_APPLICANT]-(:Application) } AS history
WHERE history >= 2 AND history <= $max_applications
MATCH (x)<-[:BY_APPLICANT]-(b:Application)
// an awakening: the applicant's previous application is at least dormant_days older
WITH s, uses, a, max(CASE WHEN b.applied_at < a.applied_at THEN b.applied_at END) AS previous
WHERE previous IS NOT NULL AND a.applied_at - previous >= $dormant_days * 86400
WITH s, uses, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at,
              slept: a.applied_at - previous}) AS woke
WHERE people >= $min_applicants
// pair the awakenings on this identifier that lie within one window of each other
UNWIND woke AS a
UNWIND woke AS b
WITH s, uses, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
WITH s, uses, a, count(DISTINCT b.p) AS near
WHERE near >= $min_applicants
WITH s, uses, collect(a.id) AS members, count(DISTINCT a.p) AS applicants,
     min(a.t) AS first_seen, max(a.t) AS last_seen, min(a.slept) AS slept
WHERE applicants >= $min_applicants
WITH s, uses, members, applicants, first_seen, last_seen, slept / 86400 AS slept_days,
     1.0 * applicants * $window_days * 86400
       / ($window_days * 86400 + last_seen - first_seen) AS effective
WHERE effective > 1.0
// the key is read last, for the rows returned only: read before the expansions, every
// identifier's value was carried through them (measured slower on LadybugDB at 1M)
RETURN 'Address:' + s.value AS key, 'Address' AS kind, s.value AS value, members, applicants,
       (1.0 - 1.0 / effective) * (0.5 + 0.5 * applicants / uses) AS strength,
       first_seen, last_seen,
       CASE WHEN applicants >= 10 THEN right(left('0123456789', applicants / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', applicants % 10 + 1), 1)
       + ' applicants back after at least '
       + CASE WHEN slept_days >= 100 THEN right(left('0123456789', slept_days / 100 % 10 + 1), 1)
              ELSE '' END
       + CASE WHEN slept_days >= 10 THEN right(left('0123456789', slept_days / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', slept_days % 10 + 1), 1)
       + ' quiet days share this address' AS detail
UNION ALL
MATCH (s:Device)
WITH s, COUNT { MATCH (s)<-[:FROM_DEVICE]-(:Application) } AS uses
WHERE uses >= $min_applicants AND uses <= $max_identifier_applications
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (s)<-[:FROM_DEVICE]-(a:Application)
WITH s, uses, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (s)<-[:FROM_DEVICE]-(a:Application)-[:BY_APPLICANT]->(x:Applicant)
// only returning applicants can wake up: their history is all that gets expanded
WITH s, uses, a, x, COUNT { MATCH (x)<-[:BY_APPLICANT]-(:Application) } AS history
WHERE history >= 2 AND history <= $max_applications
MATCH (x)<-[:BY_APPLICANT]-(b:Application)
// an awakening: the applicant's previous application is at least dormant_days older
WITH s, uses, a, max(CASE WHEN b.applied_at < a.applied_at THEN b.applied_at END) AS previous
WHERE previous IS NOT NULL AND a.applied_at - previous >= $dormant_days * 86400
WITH s, uses, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at,
              slept: a.applied_at - previous}) AS woke
WHERE people >= $min_applicants
// pair the awakenings on this identifier that lie within one window of each other
UNWIND woke AS a
UNWIND woke AS b
WITH s, uses, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
WITH s, uses, a, count(DISTINCT b.p) AS near
WHERE near >= $min_applicants
WITH s, uses, collect(a.id) AS members, count(DISTINCT a.p) AS applicants,
     min(a.t) AS first_seen, max(a.t) AS last_seen, min(a.slept) AS slept
WHERE applicants >= $min_applicants
WITH s, uses, members, applicants, first_seen, last_seen, slept / 86400 AS slept_days,
     1.0 * applicants * $window_days * 86400
       / ($window_days * 86400 + last_seen - first_seen) AS effective
WHERE effective > 1.0
// the key is read last, for the rows returned only: read before the expansions, every
// identifier's value was carried through them (measured slower on LadybugDB at 1M)
RETURN 'Device:' + s.value AS key, 'Device' AS kind, s.value AS value, members, applicants,
       (1.0 - 1.0 / effective) * (0.5 + 0.5 * applicants / uses) AS strength,
       first_seen, last_seen,
       CASE WHEN applicants >= 10 THEN right(left('0123456789', applicants / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', applicants % 10 + 1), 1)
       + ' applicants back after at least '
       + CASE WHEN slept_days >= 100 THEN right(left('0123456789', slept_days / 100 % 10 + 1), 1)
              ELSE '' END
       + CASE WHEN slept_days >= 10 THEN right(left('0123456789', slept_days / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', slept_days % 10 + 1), 1)
       + ' quiet days share this device' AS detail
