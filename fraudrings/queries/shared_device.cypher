// name: shared_device
// title: Devices shared by distinct applicants within a window
// finds: A device fingerprint on the applications of several applicants, from at least two
//   addresses, that fall within window_days of one another.
// why: A device farm fills many identities' applications on a handful of handsets. Shop tablets
//   and call-centre workstations key hundreds of honest applications over months: a device on
//   more than max_applications applications or max_applicants applicants is cut by its degree
//   before anything is expanded, and strength falls as the group spreads beyond one window and
//   as the device's lifetime applicants outside the group grow. A family's home laptop is not
//   evidence: applicants at one address count as one household, and two must share the device.
// params:
// :param window_days => 30
// :param min_applicants => 2
// :param max_applicants => 20
// :param max_applications => 40
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
// degree first, by COUNT (LadybugDB counts adjacency lists far faster than it groups edges)
MATCH (x:Device)
WITH x, COUNT { MATCH (x)<-[:FROM_DEVICE]-(:Application) } AS uses
WHERE uses >= $min_applicants AND uses <= $max_applications
// the key, read while the identifier table is being scanned: LadybugDB reads a property
// of a large node table far slower once its nodes have gone through a join
WITH x, uses, x.value AS value
// two applicants or more: min <> max is far cheaper than count(DISTINCT) on LadybugDB,
// and drops the repeat customers who are the only users of their own identifiers
MATCH (x)<-[:FROM_DEVICE]-(a:Application)
WITH x, value, uses, min(a.applicant_id) AS first_applicant, max(a.applicant_id) AS last_applicant
WHERE first_applicant <> last_applicant
// hubs are cut. The survivors' applications become small maps, paired in memory below
MATCH (x)<-[:FROM_DEVICE]-(a:Application)
OPTIONAL MATCH (a)-[:AT_ADDRESS]->(home:Address)
WITH x, value, uses, count(DISTINCT a.applicant_id) AS people,
     collect({id: a.application_id, p: a.applicant_id, t: a.applied_at,
              h: coalesce(home.value, a.applicant_id)}) AS apps
WHERE people >= $min_applicants AND people <= $max_applicants
UNWIND apps AS a
UNWIND apps AS b
WITH x, value, uses, people, a, b
WHERE abs(a.t - b.t) <= $window_days * 86400
// a member has min_applicants applicants (itself included) within one window of it
WITH x, value, uses, people, a, count(DISTINCT b.p) AS near
WHERE near >= $min_applicants
WITH x, value, uses, people, collect(a.id) AS members, count(DISTINCT a.p) AS applicants,
     count(DISTINCT a.h) AS households, min(a.t) AS first_seen, max(a.t) AS last_seen
WHERE applicants >= $min_applicants AND households >= 2
// effective households: the count, discounted as the group spreads beyond one window
WITH x, value, uses, people, members, applicants, households, first_seen, last_seen,
     (last_seen - first_seen) / 86400 AS days,
     1.0 * households * $window_days * 86400
       / ($window_days * 86400 + last_seen - first_seen) AS effective
WHERE effective > 1.0
RETURN 'Device:' + value AS key, 'Device' AS kind, value, members, applicants,
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
       + ' days (the device is on '
       + CASE WHEN uses >= 10 THEN right(left('0123456789', uses / 10 % 10 + 1), 1) ELSE '' END
       + right(left('0123456789', uses % 10 + 1), 1)
       + ' applications in all)' AS detail
