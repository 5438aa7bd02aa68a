SELECT ts, servers, policy, series_id FROM scaling_plans
