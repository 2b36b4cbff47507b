-- Replaces mage.green_taxi_monthly (configuration.destination) once the conditional
-- export_to_postgres lets it run.
SELECT * FROM {{ df_1 }}
