// name: velocity_identifier
// title: Bursts of applicants on one device, IP, phone or bank account
// finds: A device, IP, own phone number or bank account with at least min_applicants applicants
//   in one window_hours window, min_ratio times what its lifetime rate predicts.
// why: A device farm pushes a batch of identities through a few handsets and one proxy in hours,
//   and a bust-out pays a dozen loans into one account in a day. An identifier's normal rate is
//   one applicant in months, so the baseline is its lifetime rate, over at least baseline_days
//   (a brand-new identifier is not its own baseline). Shop tablets, call-centre workstations and
//   carrier or office IPs see many applicants every day: identifiers on more than
//   max_applications applications are cut by degree before anything is expanded, and a window
//   only counts at min_ratio times the expected number. Time is cut into fixed windows twice,
//   the second grid shifted by half a window, so a burst straddling a boundary is seen whole.
// params:
// :param window_hours => 24
// :param min_applicants => 3
// :param min_ratio => 4.0
// :param baseline_days => 90
// :param max_applications => 40
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (x:Device)
WITH x, COUNT { MATCH (x)<-[:FROM_DEVICE]-(:Application) } AS total
WHERE total >= $min_applicants AND total <= $max_applications
// the key, read while the identifier table is being scanned: LadybugDB reads a property
// of a large node table far slower once its nodes have gone through a join
WITH x, total, x.value AS value
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (x)<-[:FROM_DEVICE]-(a:Application)
WITH x, value, total, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (x)<-[:FROM_DEVICE]-(a:Application)
WITH x, value, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at}) AS apps,
     min(a.applied_at) AS born, max(a.applied_at) AS died
WHERE people >= $min_applicants
// expected applicants per window at the identifier's lifetime rate
WITH x, value, people, apps,
     1.0 * people * $window_hours * 3600
       / (CASE WHEN died - born > $baseline_days * 86400 THEN died - born
               ELSE $baseline_days * 86400 END) AS expected
UNWIND apps AS a
UNWIND [0, 1] AS shift
WITH x, value, people, expected, shift, a,
     (a.t + shift * $window_hours * 1800) / ($window_hours * 3600) AS slot
WITH x, value, people, expected, shift, slot, count(DISTINCT a.p) AS n, collect(a) AS inside
WHERE n >= $min_applicants AND n >= $min_ratio * expected
UNWIND inside AS a
WITH x, value, people, expected, max(n) AS peak, collect(DISTINCT a.id) AS members,
     count(DISTINCT a.p) AS applicants, min(a.t) AS first_seen, max(a.t) AS last_seen
RETURN 'Device:' + value AS key, 'Device' AS kind, value, members, applicants,
       (1.0 - expected / peak) * (1.0 - 1.0 / peak) * (0.5 + 0.5 * applicants / people)
         AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       CASE WHEN peak >= 10 THEN right(left('0123456789', peak / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', peak % 10 + 1), 1)
       + ' applicants within one window on a device with '
       + CASE WHEN people >= 10 THEN right(left('0123456789', people / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', people % 10 + 1), 1) + ' applicants in all' AS detail
UNION ALL
MATCH (x:Ip)
WITH x, COUNT { MATCH (x)<-[:FROM_IP]-(:Application) } AS total
WHERE total >= $min_applicants AND total <= $max_applications
// the key, read while the identifier table is being scanned: LadybugDB reads a property
// of a large node table far slower once its nodes have gone through a join
WITH x, total, x.value AS value
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (x)<-[:FROM_IP]-(a:Application)
WITH x, value, total, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (x)<-[:FROM_IP]-(a:Application)
WITH x, value, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at}) AS apps,
     min(a.applied_at) AS born, max(a.applied_at) AS died
WHERE people >= $min_applicants
// expected applicants per window at the identifier's lifetime rate
WITH x, value, people, apps,
     1.0 * people * $window_hours * 3600
       / (CASE WHEN died - born > $baseline_days * 86400 THEN died - born
               ELSE $baseline_days * 86400 END) AS expected
UNWIND apps AS a
UNWIND [0, 1] AS shift
WITH x, value, people, expected, shift, a,
     (a.t + shift * $window_hours * 1800) / ($window_hours * 3600) AS slot
WITH x, value, people, expected, shift, slot, count(DISTINCT a.p) AS n, collect(a) AS inside
WHERE n >= $min_applicants AND n >= $min_ratio * expected
UNWIND inside AS a
WITH x, value, people, expected, max(n) AS peak, collect(DISTINCT a.id) AS members,
     count(DISTINCT a.p) AS applicants, min(a.t) AS first_seen, max(a.t) AS last_seen
RETURN 'Ip:' + value AS key, 'Ip' AS kind, value, members, applicants,
       (1.0 - expected / peak) * (1.0 - 1.0 / peak) * (0.5 + 0.5 * applicants / people)
         AS strength,
       first_seen, last_seen,
       CASE WHEN peak >= 10 THEN right(left('0123456789', peak / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', peak % 10 + 1), 1)
       + ' applicants within one window on an IP address with '
       + CASE WHEN people >= 10 THEN right(left('0123456789', people / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', people % 10 + 1), 1) + ' applicants in all' AS detail
UNION ALL
// degree and "two applicants or more" (min <> max) in one pass over the links: the Phone
// table (own and contact numbers) is twice the Application table, so a COUNT over it and
// a second expansion cost more than grouping the links once (LadybugDB, 1M applications)
MATCH (x:Phone)<-[:USES_PHONE]-(a:Application)
WITH x, count(a) AS total, min(a.applicant_id) AS first_applicant,
     max(a.applicant_id) AS last_applicant
WHERE total >= $min_applicants AND total <= $max_applications
  AND first_applicant <> last_applicant
MATCH (x)<-[:USES_PHONE]-(a:Application)
WITH x, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at}) AS apps,
     min(a.applied_at) AS born, max(a.applied_at) AS died
WHERE people >= $min_applicants
// expected applicants per window at the identifier's lifetime rate
WITH x, people, apps,
     1.0 * people * $window_hours * 3600
       / (CASE WHEN died - born > $baseline_days * 86400 THEN died - born
               ELSE $baseline_days * 86400 END) AS expected
UNWIND apps AS a
UNWIND [0, 1] AS shift
WITH x, people, expected, shift, a,
     (a.t + shift * $window_hours * 1800) / ($window_hours * 3600) AS slot
WITH x, people, expected, shift, slot, count(DISTINCT a.p) AS n, collect(a) AS inside
WHERE n >= $min_applicants AND n >= $min_ratio * expected
UNWIND inside AS a
WITH x, people, expected, max(n) AS peak, collect(DISTINCT a.id) AS members,
     count(DISTINCT a.p) AS applicants, min(a.t) AS first_seen, max(a.t) AS last_seen
// the key is read last, for the rows returned only: read before the expansions, every
// identifier's value was carried through them (measured slower on LadybugDB at 1M)
RETURN 'Phone:' + x.value AS key, 'Phone' AS kind, x.value AS value, members, applicants,
       (1.0 - expected / peak) * (1.0 - 1.0 / peak) * (0.5 + 0.5 * applicants / people)
         AS strength,
       first_seen, last_seen,
       CASE WHEN peak >= 10 THEN right(left('0123456789', peak / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', peak % 10 + 1), 1)
       + ' applicants within one window on a phone number with '
       + CASE WHEN people >= 10 THEN right(left('0123456789', people / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', people % 10 + 1), 1) + ' applicants in all' AS detail
UNION ALL
MATCH (x:BankAccount)
WITH x, COUNT { MATCH (x)<-[:PAYS_TO]-(:Application) } AS total
WHERE total >= $min_applicants AND total <= $max_applications
// the key, read while the identifier table is being scanned: LadybugDB reads a property
// of a large node table far slower once its nodes have gone through a join
WITH x, total, x.value AS value
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (x)<-[:PAYS_TO]-(a:Application)
WITH x, value, total, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
MATCH (x)<-[:PAYS_TO]-(a:Application)
WITH x, value, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at}) AS apps,
     min(a.applied_at) AS born, max(a.applied_at) AS died
WHERE people >= $min_applicants
// expected applicants per window at the identifier's lifetime rate
WITH x, value, people, apps,
     1.0 * people * $window_hours * 3600
       / (CASE WHEN died - born > $baseline_days * 86400 THEN died - born
               ELSE $baseline_days * 86400 END) AS expected
UNWIND apps AS a
UNWIND [0, 1] AS shift
WITH x, value, people, expected, shift, a,
     (a.t + shift * $window_hours * 1800) / ($window_hours * 3600) AS slot
WITH x, value, people, expected, shift, slot, count(DISTINCT a.p) AS n, collect(a) AS inside
WHERE n >= $min_applicants AND n >= $min_ratio * expected
UNWIND inside AS a
WITH x, value, people, expected, max(n) AS peak, collect(DISTINCT a.id) AS members,
     count(DISTINCT a.p) AS applicants, min(a.t) AS first_seen, max(a.t) AS last_seen
RETURN 'BankAccount:' + value AS key, 'BankAccount' AS kind, value, members,
       applicants,
       (1.0 - expected / peak) * (1.0 - 1.0 / peak) * (0.5 + 0.5 * applicants / people)
         AS strength,
       first_seen, last_seen,
       CASE WHEN peak >= 10 THEN right(left('0123456789', peak / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', peak % 10 + 1), 1)
       + ' applicants within one window on a bank account with '
       + CASE WHEN people >= 10 THEN right(left('0123456789', people / 10 % 10 + 1), 1)
              ELSE '' END
       + right(left('0123456789', people % 10 + 1), 1) + ' applicants in all' AS detail
