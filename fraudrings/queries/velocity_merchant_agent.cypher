// name: velocity_merchant_agent
// title: Bursts of applications at a merchant or a sales agent against its own recent rate
// finds: A merchant or sales agent with at least min_applications applications in one
//   window_days window, min_ratio times what its own rate in the same baseline period predicts.
// why: A colluding agent keys a month of fakes in a week and a compromised shop pushes a batch
//   through before it is noticed. Shops are busy on Saturdays and in December, so the baseline
//   is local: the entity's rate within the same baseline_days period, over the part of the period
//   it was active (a shop that opened last week is not compared with an empty quarter, and its
//   first week is not a burst against itself). Time is cut into fixed windows twice, the second
//   grid shifted by half a window, so a burst straddling a boundary is still seen whole. Only
//   the bursting windows are expanded again to list their applications.
// params:
// :param window_days => 7
// :param min_applications => 10
// :param min_ratio => 4.0
// :param baseline_days => 90
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (x:Merchant)<-[:AT_MERCHANT]-(a:Application)
UNWIND [0, 1] AS shift
WITH x, shift, a.applied_at AS t,
     (a.applied_at + shift * $window_days * 43200) / ($window_days * 86400) AS slot
WITH x, shift, slot, count(t) AS n, min(t) AS first, max(t) AS last
// a window's baseline period is the period of its first application
WITH x, first / ($baseline_days * 86400) AS period, shift, slot, n, first, last
WITH x, period, collect({shift: shift, slot: slot, n: n}) AS slots,
     sum(CASE WHEN shift = 0 THEN 1.0 * n ELSE 0.0 END) AS in_period,
     min(first) AS born, max(last) AS died
WHERE in_period >= $min_applications
// expected applications per window at the entity's rate while active in that period
WITH x, slots,
     in_period * $window_days * 86400
       / (CASE WHEN died - born > $window_days * 86400 THEN died - born
               ELSE $window_days * 86400 END) AS expected
UNWIND slots AS s
WITH x, expected, s.shift AS shift, s.slot AS slot, s.n AS n
WHERE n >= $min_applications AND n >= $min_ratio * expected
// only the bursting windows are expanded again, to list their applications
MATCH (x)<-[:AT_MERCHANT]-(a:Application)
WITH x, expected, n, a, slot,
     (a.applied_at + shift * $window_days * 43200) / ($window_days * 86400) AS here
WHERE here = slot
WITH x, max(expected) AS expected, max(n) AS peak,
     collect(DISTINCT a.application_id) AS members, count(DISTINCT a.applicant_id) AS applicants,
     min(a.applied_at) AS first_seen, max(a.applied_at) AS last_seen
RETURN 'Merchant:' + x.value AS key, 'Merchant' AS kind, x.value AS value, members, applicants,
       // 1.0 * parameter: LadybugDB binds a count plus a parameter to a SERIAL overload
       (1.0 - expected / peak) * peak / (peak + 1.0 * $min_applications) AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       CASE WHEN peak >= 1000 THEN '999+' ELSE
         CASE WHEN peak >= 100 THEN right(left('0123456789', peak / 100 % 10 + 1), 1)
              ELSE '' END
         + CASE WHEN peak >= 10 THEN right(left('0123456789', peak / 10 % 10 + 1), 1)
                ELSE '' END
         + right(left('0123456789', peak % 10 + 1), 1) END
       + ' applications in one window at this merchant, against about '
       + CASE WHEN expected >= 100.0 THEN 'a hundred or more'
              WHEN expected >= 10.0 THEN 'a few dozen'
              WHEN expected >= 1.0 THEN 'a few' ELSE 'less than one' END
       + ' at its usual rate' AS detail
UNION ALL
MATCH (x:Agent)<-[:KEYED_BY]-(a:Application)
UNWIND [0, 1] AS shift
WITH x, shift, a.applied_at AS t,
     (a.applied_at + shift * $window_days * 43200) / ($window_days * 86400) AS slot
WITH x, shift, slot, count(t) AS n, min(t) AS first, max(t) AS last
// a window's baseline period is the period of its first application
WITH x, first / ($baseline_days * 86400) AS period, shift, slot, n, first, last
WITH x, period, collect({shift: shift, slot: slot, n: n}) AS slots,
     sum(CASE WHEN shift = 0 THEN 1.0 * n ELSE 0.0 END) AS in_period,
     min(first) AS born, max(last) AS died
WHERE in_period >= $min_applications
// expected applications per window at the entity's rate while active in that period
WITH x, slots,
     in_period * $window_days * 86400
       / (CASE WHEN died - born > $window_days * 86400 THEN died - born
               ELSE $window_days * 86400 END) AS expected
UNWIND slots AS s
WITH x, expected, s.shift AS shift, s.slot AS slot, s.n AS n
WHERE n >= $min_applications AND n >= $min_ratio * expected
// only the bursting windows are expanded again, to list their applications
MATCH (x)<-[:KEYED_BY]-(a:Application)
WITH x, expected, n, a, slot,
     (a.applied_at + shift * $window_days * 43200) / ($window_days * 86400) AS here
WHERE here = slot
WITH x, max(expected) AS expected, max(n) AS peak,
     collect(DISTINCT a.application_id) AS members, count(DISTINCT a.applicant_id) AS applicants,
     min(a.applied_at) AS first_seen, max(a.applied_at) AS last_seen
RETURN 'Agent:' + x.value AS key, 'Agent' AS kind, x.value AS value, members, applicants,
       (1.0 - expected / peak) * peak / (peak + 1.0 * $min_applications) AS strength,
       first_seen, last_seen,
       CASE WHEN peak >= 1000 THEN '999+' ELSE
         CASE WHEN peak >= 100 THEN right(left('0123456789', peak / 100 % 10 + 1), 1)
              ELSE '' END
         + CASE WHEN peak >= 10 THEN right(left('0123456789', peak / 10 % 10 + 1), 1)
                ELSE '' END
         + right(left('0123456789', peak % 10 + 1), 1) END
       + ' applications in one window at this agent, against about '
       + CASE WHEN expected >= 100.0 THEN 'a hundred or more'
              WHEN expected >= 10.0 THEN 'a few dozen'
              WHEN expected >= 1.0 THEN 'a few' ELSE 'less than one' END
       + ' at its usual rate' AS detail
