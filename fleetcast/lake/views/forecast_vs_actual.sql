-- Forecasts of the latest run with their 80/95% intervals, and the actual value once it is observed
-- (null until then, and null in gaps: never a zero).
SELECT f.series_id, f.metric, f.granularity, f.ts, f.step, f.model, o.value AS actual, f.yhat,
       f.lo80, f.hi80, f.lo95, f.hi95, f.run_id
FROM forecasts f
JOIN latest_run r ON f.run_id = r.run_id
LEFT JOIN observations o
  ON o.series_id = f.series_id AND o.metric = f.metric AND o.granularity = f.granularity AND o.ts = f.ts
