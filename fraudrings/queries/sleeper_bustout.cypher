// name: sleeper_bustout
// title: Sleeper identities waking up together and sharing an identifier (bust-out)
// finds: Applicants who come back after at least dormant_days without applying and, within
//   window_days of each other, share a bank account, address, device, e-mail or IP.
// why: Bust-out rings season identities: each borrows once, repays, goes quiet, and then all
//   of them borrow the maximum at once, paid into the ring's accounts. One returning customer
//   is ordinary (repeat customers come back months apart), several returning at once onto the
//   same account or flat is not. Carrier and office IPs, shop tablets and other identifiers on
//   more than max_identifier_applications applications are cut by degree before their
//   applications are paired, and identity hubs with more than max_applications are skipped.
// params:
// :param dormant_days => 60
// :param window_days => 14
// :param min_applicants => 2
// :param max_applications => 30
// :param max_identifier_applications => 40
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (x:Applicant)<-[:BY_APPLICANT]-(:Application)
WITH x, count(*) AS uses
WHERE uses >= 2 AND uses <= $max_applications
MATCH (x)<-[:BY_APPLICANT]-(a:Application)
WITH x, a
MATCH (x)<-[:BY_APPLICANT]-(b:Application)
WITH a, b
WHERE b.applied_at < a.applied_at
// an awakening: the applicant's previous application is at least dormant_days older
WITH a, max(b.applied_at) AS previous
WHERE a.applied_at - previous >= $dormant_days * 86400
MATCH (a)-[:PAYS_TO|AT_ADDRESS|FROM_DEVICE|USES_EMAIL|FROM_IP]->(s)
WITH s, collect({id: a.application_id, p: a.applicant_id, t: a.applied_at,
                 slept: a.applied_at - previous}) AS woke,
     count(DISTINCT a.applicant_id) AS people
WHERE people >= $min_applicants
// hubs: skip identifiers on too many applications before pairing their awakenings
WITH s, woke, COUNT { MATCH (s)<-[]-(:Application) } AS uses
WHERE uses <= $max_identifier_applications
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
       / ($window_days * 86400 + last_seen - first_seen) AS effective,
     // the relationship that reaches s tells its label (type(r) is not portable)
     CASE WHEN EXISTS { MATCH (s)<-[:PAYS_TO]-(:Application) } THEN 'BankAccount'
          WHEN EXISTS { MATCH (s)<-[:AT_ADDRESS]-(:Application) } THEN 'Address'
          WHEN EXISTS { MATCH (s)<-[:FROM_DEVICE]-(:Application) } THEN 'Device'
          WHEN EXISTS { MATCH (s)<-[:USES_EMAIL]-(:Application) } THEN 'Email'
          ELSE 'Ip' END AS kind
WHERE effective > 1.0
RETURN kind + ':' + s.value AS key, kind, s.value AS value, members, applicants,
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
       + ' quiet days share this ' + kind AS detail
