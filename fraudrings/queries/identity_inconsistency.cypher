// name: identity_inconsistency
// title: One personal identifier behind several identities
// finds: An e-mail address, own phone number or bank account that appears, at any time, on
//   the applications of several applicant identities living at different addresses.
// why: An e-mail box, a SIM card and a current account each belong to one person. When several
//   national identities give the same one and disagree on where they live, the identities are
//   synthetic or recycled, however far apart in time they apply (shared_phone and
//   shared_bank_account look at bursts, this looks at identity). A family may share an account
//   or a mailbox but lives at one address: applicants at one address count as one household,
//   and at least two households are needed. Telecoms recycle numbers: identities far apart in
//   time weigh less (strength halves as the span grows well past horizon_days). Identifiers on
//   more than max_applications applications (placeholders such as noemail@) are cut by degree
//   before expansion.
// params:
// :param horizon_days => 90
// :param min_applicants => 2
// :param max_applicants => 10
// :param max_applications => 30
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (x:Email)
WITH x, COUNT { MATCH (x)<-[:USES_EMAIL]-(:Application) } AS uses
WHERE uses >= $min_applicants AND uses <= $max_applications
// the key, read while the identifier table is being scanned: LadybugDB reads a property
// of a large node table far slower once its nodes have gone through a join
WITH x, uses, x.value AS value
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (x)<-[:USES_EMAIL]-(a:Application)
WITH x, value, uses, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (x)<-[:USES_EMAIL]-(a:Application)
OPTIONAL MATCH (a)-[:AT_ADDRESS]->(home:Address)
WITH x, value, collect(a.application_id) AS members, count(DISTINCT a.applicant_id) AS applicants,
     count(DISTINCT coalesce(home.value, a.applicant_id)) AS households,
     min(a.applied_at) AS first_seen, max(a.applied_at) AS last_seen
WHERE applicants >= $min_applicants AND applicants <= $max_applicants AND households >= 2
RETURN 'Email:' + value AS key, 'Email' AS kind, value, members, applicants,
       (1.0 - 1.0 / households) * (0.5 + 0.5 * households / applicants)
         * (0.5 + 0.5 * $horizon_days * 86400 / ($horizon_days * 86400 + last_seen - first_seen))
         AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       CASE WHEN applicants >= 10 THEN right(left('0123456789', applicants / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', applicants % 10 + 1), 1)
       + ' identities at '
       + CASE WHEN households >= 10 THEN right(left('0123456789', households / 10 % 10 + 1), 1)
              ELSE '' END + right(left('0123456789', households % 10 + 1), 1)
       + ' addresses give this e-mail' AS detail
UNION ALL
// degree and "two applicants or more" (min <> max) in one pass over the links: the Phone
// table (own and contact numbers) is twice the Application table, so a COUNT over it and
// a second expansion cost more than grouping the links once (LadybugDB, 1M applications)
MATCH (x:Phone)<-[:USES_PHONE]-(a:Application)
WITH x, count(a) AS uses, min(a.applicant_id) AS first_applicant,
     max(a.applicant_id) AS last_applicant
WHERE uses >= $min_applicants AND uses <= $max_applications
  AND first_applicant <> last_applicant
MATCH (x)<-[:USES_PHONE]-(a:Application)
OPTIONAL MATCH (a)-[:AT_ADDRESS]->(home:Address)
WITH x, collect(a.application_id) AS members, count(DISTINCT a.applicant_id) AS applicants,
     count(DISTINCT coalesce(home.value, a.applicant_id)) AS households,
     min(a.applied_at) AS first_seen, max(a.applied_at) AS last_seen
WHERE applicants >= $min_applicants AND applicants <= $max_applicants AND households >= 2
// the key is read last, for the rows returned only: read before the expansions, every
// identifier's value was carried through them (measured slower on LadybugDB at 1M)
RETURN 'Phone:' + x.value AS key, 'Phone' AS kind, x.value AS value, members, applicants,
       (1.0 - 1.0 / households) * (0.5 + 0.5 * households / applicants)
         * (0.5 + 0.5 * $horizon_days * 86400 / ($horizon_days * 86400 + last_seen - first_seen))
         AS strength,
       first_seen, last_seen,
       CASE WHEN applicants >= 10 THEN right(left('0123456789', applicants / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', applicants % 10 + 1), 1)
       + ' identities at '
       + CASE WHEN households >= 10 THEN right(left('0123456789', households / 10 % 10 + 1), 1)
              ELSE '' END + right(left('0123456789', households % 10 + 1), 1)
       + ' addresses give this phone as their own' AS detail
UNION ALL
MATCH (x:BankAccount)
WITH x, COUNT { MATCH (x)<-[:PAYS_TO]-(:Application) } AS uses
WHERE uses >= $min_applicants AND uses <= $max_applications
// the key, read while the identifier table is being scanned: LadybugDB reads a property
// of a large node table far slower once its nodes have gone through a join
WITH x, uses, x.value AS value
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (x)<-[:PAYS_TO]-(a:Application)
WITH x, value, uses, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (x)<-[:PAYS_TO]-(a:Application)
OPTIONAL MATCH (a)-[:AT_ADDRESS]->(home:Address)
WITH x, value, collect(a.application_id) AS members, count(DISTINCT a.applicant_id) AS applicants,
     count(DISTINCT coalesce(home.value, a.applicant_id)) AS households,
     min(a.applied_at) AS first_seen, max(a.applied_at) AS last_seen
WHERE applicants >= $min_applicants AND applicants <= $max_applicants AND households >= 2
RETURN 'BankAccount:' + value AS key, 'BankAccount' AS kind, value, members,
       applicants,
       (1.0 - 1.0 / households) * (0.5 + 0.5 * households / applicants)
         * (0.5 + 0.5 * $horizon_days * 86400 / ($horizon_days * 86400 + last_seen - first_seen))
         AS strength,
       first_seen, last_seen,
       CASE WHEN applicants >= 10 THEN right(left('0123456789', applicants / 10 % 10 + 1), 1)
            ELSE '' END + right(left('0123456789', applicants % 10 + 1), 1)
       + ' identities at '
       + CASE WHEN households >= 10 THEN right(left('0123456789', households / 10 % 10 + 1), 1)
              ELSE '' END + right(left('0123456789', households % 10 + 1), 1)
       + ' addresses are paid into this account' AS detail
