SELECT series_id, max(value) AS peak FROM hourly_load GROUP BY series_id
