// name: applicant_hopping
// title: One applicant hopping across devices, phones and accounts in a short time
// finds: An applicant whose applications within window_days of each other come from several
//   devices, phone numbers, e-mail addresses, bank accounts or addresses.
// why: A real person applies from the phone in their pocket and is paid into their own account.
//   An identity that an organiser reuses, or that was stolen, turns up on whatever device and
//   mule account the ring has at hand, several times within days. Repeat customers who changed
//   handset between loans months apart fall outside the window, and one change (a new phone) is not
//   enough, min_hops changes are. Applicants with more than max_applications applications
//   (test or placeholder identities) are cut by degree before expansion.
// params:
// :param window_days => 7
// :param min_hops => 2
// :param max_applications => 30
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (x:Applicant)<-[:BY_APPLICANT]-(:Application)
WITH x, count(*) AS uses
WHERE uses >= 2 AND uses <= $max_applications
MATCH (x)<-[:BY_APPLICANT]-(a:Application)
OPTIONAL MATCH (a)-[:FROM_DEVICE]->(device:Device)
OPTIONAL MATCH (a)-[:USES_PHONE]->(phone:Phone)
OPTIONAL MATCH (a)-[:USES_EMAIL]->(email:Email)
OPTIONAL MATCH (a)-[:PAYS_TO]->(account:BankAccount)
OPTIONAL MATCH (a)-[:AT_ADDRESS]->(home:Address)
WITH x, collect({id: a.application_id, t: a.applied_at, d: device.value, ph: phone.value,
                 em: email.value, ba: account.value, h: home.value}) AS apps
UNWIND apps AS a
UNWIND apps AS b
WITH x, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
// hops: each identifier kind seen with k distinct values around this application adds k - 1
WITH x, a, count(DISTINCT b.d) AS devices, count(DISTINCT b.ph) AS phones,
     count(DISTINCT b.em) AS emails, count(DISTINCT b.ba) AS accounts,
     count(DISTINCT b.h) AS homes
WITH x, a, devices, phones, emails, accounts, homes,
     (CASE WHEN devices > 1 THEN devices - 1 ELSE 0 END)
     + (CASE WHEN phones > 1 THEN phones - 1 ELSE 0 END)
     + (CASE WHEN emails > 1 THEN emails - 1 ELSE 0 END)
     + (CASE WHEN accounts > 1 THEN accounts - 1 ELSE 0 END)
     + (CASE WHEN homes > 1 THEN homes - 1 ELSE 0 END) AS hops
WHERE hops >= $min_hops
WITH x, collect(a.id) AS members, max(hops) AS hops, max(devices) AS devices,
     max(phones) AS phones, min(a.t) AS first_seen, max(a.t) AS last_seen
RETURN 'Applicant:' + x.value AS key, 'Applicant' AS kind, x.value AS value, members,
       1 AS applicants, 1.0 * hops / (hops + 2) AS strength, first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       'one applicant on ' + right(left('0123456789', devices % 10 + 1), 1) + ' devices and '
       + right(left('0123456789', phones % 10 + 1), 1) + ' phones within a window, '
       + CASE WHEN hops >= 10 THEN right(left('0123456789', hops / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', hops % 10 + 1), 1) + ' identifier changes' AS detail
