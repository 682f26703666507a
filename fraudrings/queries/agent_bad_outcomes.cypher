// name: agent_bad_outcomes
// title: Sales agents whose loans go bad far more often than their merchant's other agents'
// finds: A sales agent at a merchant with at least min_bad applications ending in confirmed
//   fraud or first-payment default, at min_lift times the rate of the merchant's other agents.
// why: Fake applicants keyed by a colluding agent never pay. Outcomes arrive weeks after the
//   sale, so only applications with a known outcome count. Some shops sell to riskier
//   customers than others: each agent is compared with the rest of its own merchant, smoothed
//   towards prior_rate by prior_weight known outcomes, so one unlucky default at a quiet shop
//   is not a signal. One pass over the point-of-sale book, grouped by agent: nothing is
//   expanded. Strength is 1 - peer rate / agent rate, damped for few members.
// params:
// :param min_applications => 5
// :param min_bad => 3
// :param min_lift => 3.0
// :param prior_rate => 0.05
// :param prior_weight => 20
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (m:Merchant)<-[:AT_MERCHANT]-(a:Application)-[:KEYED_BY]->(g:Agent)
WITH m, g, a, CASE WHEN a.is_fraud = 1 OR a.fpd = 1 THEN 1 ELSE 0 END AS bad
// count(CASE ...) keeps integers: LadybugDB's sum() is a 128-bit integer that its string
// functions refuse
WITH m, g, count(a) AS n, count(CASE WHEN bad = 1 THEN 1 END) AS b,
     count(CASE WHEN a.is_fraud IS NOT NULL OR a.fpd IS NOT NULL THEN 1 END) AS k,
     collect(CASE WHEN bad = 1 THEN {id: a.application_id, p: a.applicant_id,
                                     t: a.applied_at} END) AS failed
WITH m, sum(b) AS mb, sum(k) AS mk,
     collect(CASE WHEN n >= $min_applications AND b >= $min_bad
                  THEN {agent: g.value, n: n, b: b, k: k, failed: failed} END) AS agents
UNWIND agents AS ag
WITH m, ag.agent AS agent, ag.b AS b, ag.k AS k, ag.failed AS failed, mb - ag.b AS pb,
     mk - ag.k AS pk, 1.0 * ag.b / ag.k AS rate,
     (1.0 * (mb - ag.b) + $prior_rate * $prior_weight) / (1.0 * (mk - ag.k) + $prior_weight)
       AS peer_rate
WHERE rate >= $min_lift * peer_rate
UNWIND failed AS a
WITH m, agent, b, k, pb, pk, rate, peer_rate, collect(a.id) AS members,
     count(DISTINCT a.p) AS applicants, min(a.t) AS first_seen, max(a.t) AS last_seen,
     100 * b / k AS pct
RETURN 'Agent:' + agent + '@' + m.value AS key, 'Agent' AS kind, agent AS value, members,
       applicants, (1.0 - peer_rate / rate) * size(members) / (size(members) + 3.0) AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString(). The peers' rate comes
       // from 128-bit sums on LadybugDB, which its string functions refuse: it is told in words
       CASE WHEN pct >= 100 THEN '100' ELSE
           CASE WHEN pct >= 10 THEN right(left('0123456789', pct / 10 + 1), 1) ELSE '' END
           + right(left('0123456789', pct % 10 + 1), 1) END
       + '% of the known outcomes of this agent are fraud or default, against '
       + CASE WHEN pk = 0 THEN 'no known outcomes for the other agents'
              WHEN 100 * pb < pk THEN 'under 1% for the other agents'
              WHEN 20 * pb < pk THEN 'under 5% for the other agents'
              WHEN 10 * pb < pk THEN 'under 10% for the other agents'
              ELSE '10% or more for the other agents' END AS detail
