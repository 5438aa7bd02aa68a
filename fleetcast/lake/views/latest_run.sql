-- The latest successful pipeline run (dashboards show its results).
SELECT run_id, trigger, started_at, finished_at, series, model_version
FROM runs
WHERE status = 'succeeded'
ORDER BY run_id DESC
LIMIT 1
