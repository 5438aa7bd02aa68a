-- Cost and SLA per scaling policy, latest run of each series (fixture view for the infra tests).
SELECT policy, avg(cost) AS cost, avg(sla_violation_pct) AS sla_violation_pct
FROM simulations
GROUP BY policy
