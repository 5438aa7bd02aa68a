-- Cost, saving vs a static fleet sized for peak, SLA-violating intervals and scaling events per policy.
SELECT s.series_id, s.policy, s.kind, s.cost, s.saving_vs_static_pct, s.sla_violation_pct,
       s.sla_violation_intervals, s.scaling_events, s.mean_servers, s.capacity_per_server,
       s.price_per_server_hour, s.run_id
FROM simulations s
JOIN latest_run r ON s.run_id = r.run_id
