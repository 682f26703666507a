// name: applicant_hopping
// title: One applicant hopping across devices, phones and accounts in a short time
// finds: An applicant whose applications within window_days of each other come from several
//   devices, phone numbers, e-mail addresses, bank accounts or addresses.
// why: A real person applies from the phone in their pocket and is paid into their own account.
//   An identity that an organiser reuses, or that was stolen, turns up on whatever device and
//   mule account the ring has at hand, several times within days. Repeat customers who changed
//   handset between loans months apart fall outside the window, and one change (a new phone) is
//   not enough: min_hops changes are. Applicants with more than max_applications applications
//   (test or placeholder identities) are cut by degree, and only applicants with two
//   applications inside one window have their identifiers expanded at all.
// params:
// :param window_days => 7
// :param min_hops => 2
// :param max_applications => 30
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (x:Applicant)
WITH x, COUNT { MATCH (x)<-[:BY_APPLICANT]-(:Application) } AS uses
WHERE uses >= 2 AND uses <= $max_applications
// applicants with two applications inside one window: the only ones worth expanding
MATCH (x)<-[:BY_APPLICANT]-(a:Application)
WITH x, collect(a.applied_at) AS times
UNWIND times AS t1
UNWIND times AS t2
WITH x, t1, t2
WHERE t1 < t2 AND t2 - t1 <= $window_days * 86400
WITH DISTINCT x
// each application's identifiers. The label does not matter here: every application
// normally has one of each kind, so the distinct values around an application beyond what one
// application carries are the changes (a new phone adds one, a new everything adds five)
MATCH (x)<-[:BY_APPLICANT]-(a:Application)
      -[:FROM_DEVICE|USES_PHONE|USES_EMAIL|PAYS_TO|AT_ADDRESS]->(s)
WITH x, a, count(s) AS carried, collect(s.value) AS held
WITH x, collect({id: a.application_id, t: a.applied_at, carried: carried, held: held}) AS apps
UNWIND apps AS a
UNWIND apps AS b
WITH x, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
UNWIND b.held AS value
WITH x, a, count(DISTINCT value) AS seen, max(b.carried) AS most, count(DISTINCT b.id) AS near
WITH x, a, near, seen - most AS hops
WHERE near >= 2 AND hops >= $min_hops
WITH x, collect(a.id) AS members, max(hops) AS hops, max(near) AS near, min(a.t) AS first_seen,
     max(a.t) AS last_seen
RETURN 'Applicant:' + x.value AS key, 'Applicant' AS kind, x.value AS value, members,
       1 AS applicants, 1.0 * hops / (hops + 2) AS strength, first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       'one applicant, '
       + CASE WHEN near >= 10 THEN right(left('0123456789', near / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', near % 10 + 1), 1) + ' applications within a window, '
       + CASE WHEN hops >= 10 THEN right(left('0123456789', hops / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', hops % 10 + 1), 1)
       + ' changes of device, phone, e-mail, account or address' AS detail
