-- One row for this child's month: its trips, those the homework keeps (passengers and distance),
-- and their fares. reduce_output hands every month's row on as one table.
SELECT
  min(month) AS month,
  count(*) AS trips,
  count(*) FILTER (WHERE passenger_count > 0 AND trip_distance > 0) AS kept_trips,
  round(sum(total_amount) FILTER (WHERE passenger_count > 0 AND trip_distance > 0), 2) AS kept_total_amount
FROM {{ df_1 }}
