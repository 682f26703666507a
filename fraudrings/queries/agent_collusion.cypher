// name: agent_collusion
// title: Sales agents whose applications are linked to each other or go bad, against peers
// finds: A sales agent at a merchant whose applications share phones, reference contacts,
//   e-mails, bank accounts or addresses across different applicants, or end in fraud or
//   first-payment default, far more often than the merchant's other agents' applications do.
// why: A colluding agent keys fake applicants who share the organiser's phones, flats and
//   accounts and name the agent as their reference, and those loans go bad. The shop tablet and
//   the shop's IP are shared by every honest sale, so devices and IPs are not used. Identifiers
//   are grouped within one agent's book and never expanded. One shared by more than max_shared
//   of an agent's applications is the shop's own (its landline given as a reference, a
//   placeholder e-mail) and links nothing. A couple buying together links two sales, below
//   min_linked. Each agent is compared with the rest of its merchant (smoothed towards
//   prior_rate by prior_weight applications), so a shop with a risky clientele does not make
//   all its agents suspects. Strength is 1 - peer rate / agent rate, damped for few members.
// params:
// :param min_applications => 5
// :param min_linked => 3
// :param min_bad => 3
// :param min_lift => 3.0
// :param prior_rate => 0.05
// :param prior_weight => 20
// :param max_shared => 20
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
MATCH (m:Merchant)<-[:AT_MERCHANT]-(a:Application)-[:KEYED_BY]->(g:Agent),
      (a)-[:USES_PHONE|LISTS_CONTACT|USES_EMAIL|PAYS_TO|AT_ADDRESS]->(s)
// one group per identifier within one agent's book: a tie if two applicants share it (min <>
// max tests "two or more" far cheaper than count(DISTINCT) on LadybugDB)
WITH m, g, s, count(a) AS n, min(a.applicant_id) AS p1, max(a.applicant_id) AS p2,
     collect(a.application_id) AS ids
UNWIND ids AS id
WITH m, g, id, max(CASE WHEN p1 <> p2 AND n <= $max_shared THEN 1 ELSE 0 END) AS linked
// back to the applications (an application with no identifier at all has no tie to show)
MATCH (a:Application {application_id: id})
WITH m, g, a, linked,
     CASE WHEN a.is_fraud = 1 OR a.fpd = 1 THEN 1 ELSE 0 END AS bad,
     CASE WHEN a.is_fraud IS NULL AND a.fpd IS NULL THEN 0 ELSE 1 END AS known
// each agent's own counts (count(CASE ...) keeps integers: LadybugDB's sum() is a 128-bit
// integer that its string functions refuse), and the evidence it would stand on
WITH m, g.value AS agent, count(a) AS n, count(CASE WHEN linked = 1 THEN 1 END) AS l,
     count(CASE WHEN bad = 1 THEN 1 END) AS b, count(CASE WHEN known = 1 THEN 1 END) AS k,
     collect(CASE WHEN linked = 1 THEN {id: a.application_id, p: a.applicant_id,
                                        t: a.applied_at} END) AS tied,
     collect(CASE WHEN bad = 1 THEN {id: a.application_id, p: a.applicant_id,
                                     t: a.applied_at} END) AS failed
WITH m, collect({agent: agent, n: n, l: l, b: b, k: k, tied: tied, failed: failed}) AS agents,
     sum(n) AS mn, sum(l) AS ml, sum(b) AS mb, sum(k) AS mk
UNWIND agents AS ag
WITH m, ag.agent AS agent, ag.n AS n, ag.l AS l, ag.b AS b, ag.k AS k, ag.tied AS tied,
     ag.failed AS failed, mn, ml, mb, mk
WHERE n >= $min_applications
// each agent against the rest of the merchant, smoothed towards the prior
WITH m, agent, n, l, b, k, tied, failed, mn - n AS pn, ml - l AS pl, mb - b AS pb, mk - k AS pk,
     1.0 * l / n AS linked_rate,
     CASE WHEN k > 0 THEN 1.0 * b / k ELSE 0.0 END AS bad_rate,
     (1.0 * (ml - l) + $prior_rate * $prior_weight) / (1.0 * (mn - n) + $prior_weight)
       AS peer_linked_rate,
     (1.0 * (mb - b) + $prior_rate * $prior_weight) / (1.0 * (mk - k) + $prior_weight)
       AS peer_bad_rate
WHERE (l >= $min_linked AND linked_rate >= $min_lift * peer_linked_rate)
   OR (b >= $min_bad AND bad_rate >= $min_lift * peer_bad_rate)
// lift: 1 - peer rate / agent rate, on whichever of the two fired harder
WITH m, agent, n, l, b, k, pn, pl, pb, pk, tied, failed,
     CASE WHEN l >= $min_linked AND linked_rate >= $min_lift * peer_linked_rate
          THEN 1.0 - peer_linked_rate / linked_rate ELSE 0.0 END AS linked_lift,
     CASE WHEN b >= $min_bad AND bad_rate >= $min_lift * peer_bad_rate
          THEN 1.0 - peer_bad_rate / bad_rate ELSE 0.0 END AS bad_lift
// the evidence: the linked applications when linkage fired, else the ones that went bad
UNWIND CASE WHEN linked_lift > 0.0 THEN tied ELSE failed END AS a
WITH m, agent, n, l, b, k, pn, pl, pb, pk,
     CASE WHEN linked_lift > bad_lift THEN linked_lift ELSE bad_lift END AS lift,
     collect(a.id) AS members, count(DISTINCT a.p) AS applicants,
     min(a.t) AS first_seen, max(a.t) AS last_seen,
     100 * l / n AS lp, CASE WHEN k > 0 THEN 100 * b / k ELSE 0 END AS bp,
     // the peers' rates come from 128-bit sums on LadybugDB, which its string functions
     // refuse: they are told in words
     CASE WHEN pn = 0 THEN 'no other agents'
          WHEN 100 * pl < pn THEN 'under 1%' WHEN 20 * pl < pn THEN 'under 5%'
          WHEN 10 * pl < pn THEN 'under 10%' WHEN 4 * pl < pn THEN 'under 25%'
          ELSE '25% or more' END AS peers_linked,
     CASE WHEN pk = 0 THEN 'no outcomes yet'
          WHEN 100 * pb < pk THEN 'under 1%' WHEN 20 * pb < pk THEN 'under 5%'
          WHEN 10 * pb < pk THEN 'under 10%' WHEN 4 * pb < pk THEN 'under 25%'
          ELSE '25% or more' END AS peers_bad
RETURN 'Agent:' + agent + '@' + m.value AS key, 'Agent' AS kind, agent AS value, members,
       applicants, lift * size(members) / (size(members) + 3.0) AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString()
       'linked ' + CASE WHEN lp >= 100 THEN '100' ELSE
           CASE WHEN lp >= 10 THEN right(left('0123456789', lp / 10 + 1), 1) ELSE '' END
           + right(left('0123456789', lp % 10 + 1), 1) END
       + '% of sales (other agents ' + peers_linked + '), bad outcomes '
       + CASE WHEN bp >= 100 THEN '100' ELSE
           CASE WHEN bp >= 10 THEN right(left('0123456789', bp / 10 + 1), 1) ELSE '' END
           + right(left('0123456789', bp % 10 + 1), 1) END
       + '% (other agents ' + peers_bad + ')' AS detail
