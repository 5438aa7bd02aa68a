-- Servers each policy runs per interval over the replayed load (latest run).
SELECT p.series_id, p.policy, p.ts, p.servers, p.capacity, p.load, p.planned_load, p.action,
       p.sla_violation, p.run_id
FROM scaling_plans p
JOIN latest_run r ON p.run_id = r.run_id
