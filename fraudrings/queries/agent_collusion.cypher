// name: agent_collusion
// title: Sales agents whose applications are linked to each other, against their merchant
// finds: A sales agent at a merchant whose applications share phones, reference contacts,
//   e-mails, bank accounts or addresses across different applicants far more often than the
//   applications of the merchant's other agents do.
// why: A colluding agent keys fake applicants who share the organiser's phones, flats and
//   accounts and name the agent as their reference. The shop tablet and the shop's IP are
//   shared by every honest sale, so devices and IPs are not used. Only identifiers on two to
//   max_identifier_applications applications count (hubs such as a placeholder e-mail or the
//   shop's landline given as reference are cut by their degree, nothing is paired edge by
//   edge), and an identifier links an agent's sales only when two different applicants share it. A
//   couple buying together links two sales, below min_linked. Each agent is compared with the
//   rest of its merchant, smoothed towards prior_rate by prior_weight applications, so a shop
//   with a risky clientele does not make all its agents suspects. Strength is 1 - peer rate /
//   agent rate, damped for few members. Bad outcomes are agent_bad_outcomes' business.
// params:
// :param min_applications => 5
// :param min_linked => 3
// :param min_lift => 3.0
// :param prior_rate => 0.02
// :param prior_weight => 20
// :param max_identifier_applications => 40
// returns: key, kind, value, members, applicants, strength, first_seen, last_seen, detail
// ties first, from the agents' side: two different applicants of one agent on one identifier
// (min <> max tests "two or more" far cheaper than count(DISTINCT) on LadybugDB). Only the
// few tied identifiers then have their degree counted (a COUNT {} over every phone, e-mail,
// account and address was the costliest step of this query on LadybugDB)
MATCH (g:Agent)<-[:KEYED_BY]-(a:Application)
      -[:USES_PHONE|LISTS_CONTACT|USES_EMAIL|PAYS_TO|AT_ADDRESS]->(s)
WITH s, g, min(a.applicant_id) AS p1, max(a.applicant_id) AS p2, collect(a.application_id) AS ids
WHERE p1 <> p2
// hubs (a placeholder e-mail, the shop's landline given as reference) are cut by degree
MATCH (s)<-[:USES_PHONE|LISTS_CONTACT|USES_EMAIL|PAYS_TO|AT_ADDRESS]-(b:Application)
WITH s, g, ids, count(b) AS uses
WHERE uses >= 2 AND uses <= $max_identifier_applications
UNWIND ids AS id
WITH g, collect(DISTINCT id) AS tied
// the tied agents' whole books, per merchant
MATCH (g)<-[:KEYED_BY]-(a:Application)-[:AT_MERCHANT]->(m:Merchant)
WITH m, g, count(a) AS n, count(CASE WHEN a.application_id IN tied THEN 1 END) AS l,
     collect(CASE WHEN a.application_id IN tied
                  THEN {id: a.application_id, p: a.applicant_id, t: a.applied_at} END) AS linked
// every tied agent counts towards the merchant's linked sales, candidates or not
WITH m, sum(l) AS ml,
     collect(CASE WHEN n >= $min_applications AND l >= $min_linked
                  THEN {agent: g.value, n: n, l: l, linked: linked} END) AS agents
// the merchant's whole book, every agent's sales
MATCH (m)<-[:AT_MERCHANT]-(b:Application)-[:KEYED_BY]->(:Agent)
WITH m, agents, ml, count(b) AS mn
UNWIND agents AS ag
WITH m, ag.agent AS agent, ag.n AS n, ag.l AS l, ag.linked AS linked, mn - ag.n AS pn,
     ml - ag.l AS pl, 1.0 * ag.l / ag.n AS rate,
     (1.0 * (ml - ag.l) + $prior_rate * $prior_weight) / (1.0 * (mn - ag.n) + $prior_weight)
       AS peer_rate
WHERE rate >= $min_lift * peer_rate
UNWIND linked AS a
WITH m, agent, n, l, pn, pl, rate, peer_rate, collect(a.id) AS members,
     count(DISTINCT a.p) AS applicants, min(a.t) AS first_seen, max(a.t) AS last_seen,
     100 * l / n AS pct
RETURN 'Agent:' + agent + '@' + m.value AS key, 'Agent' AS kind, agent AS value, members,
       applicants, (1.0 - peer_rate / rate) * size(members) / (size(members) + 3.0) AS strength,
       first_seen, last_seen,
       // numbers written digit by digit: LadybugDB has no toString(). The peers' share comes
       // from 128-bit sums on LadybugDB, which its string functions refuse: it is told in words
       CASE WHEN pct >= 100 THEN '100' ELSE
           CASE WHEN pct >= 10 THEN right(left('0123456789', pct / 10 + 1), 1) ELSE '' END
           + right(left('0123456789', pct % 10 + 1), 1) END
       + '% of the sales of this agent are linked to other applicants, against '
       + CASE WHEN pn = 0 THEN 'no other agents at the merchant'
              WHEN 100 * pl < pn THEN 'under 1% for the other agents'
              WHEN 20 * pl < pn THEN 'under 5% for the other agents'
              WHEN 10 * pl < pn THEN 'under 10% for the other agents'
              ELSE '10% or more for the other agents' END AS detail
