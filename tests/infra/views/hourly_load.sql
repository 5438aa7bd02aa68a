SELECT series_id, metric, date_trunc('hour', ts) AS hour, avg(value) AS value, count(*) AS bins
FROM observations
WHERE granularity = '5min'
GROUP BY 1, 2, 3
