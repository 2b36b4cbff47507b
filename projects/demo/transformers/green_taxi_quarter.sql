-- The months together (the children of summarize_green_taxi_month, combined), in order.
SELECT
  month,
  trips,
  kept_trips,
  round(100.0 * kept_trips / trips, 1) AS kept_pct,
  kept_total_amount
FROM {{ df_1 }}
ORDER BY month
