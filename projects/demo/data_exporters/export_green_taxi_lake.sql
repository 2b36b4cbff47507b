-- Writes the cleaned trips to a Parquet lake partitioned by pickup date:
-- <project>/.grimoire/lake/green_taxi/lpep_pickup_date=2020-10-01/data_0.parquet ...
COPY (SELECT * FROM {{ df_1 }})
TO '{{ data_dir }}/lake/green_taxi'
(FORMAT parquet, PARTITION_BY (lpep_pickup_date), OVERWRITE true);
