-- Risk per server and metric for each horizon of the latest run, most urgent first.
SELECT k.series_id, k.metric, k.horizon_days, k.level,
       CASE k.level WHEN 'very_high' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END AS level_rank,
       k.predicted_p95, k.breach_probability, k.first_breach_date, k.days_to_breach, k.recent_p95,
       k.average_utilisation, k.reason, k.run_id
FROM risk_flags k
JOIN latest_run r ON k.run_id = r.run_id
