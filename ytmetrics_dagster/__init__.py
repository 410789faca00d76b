"""ytmetrics-dagster: hourly YouTube statistics history in Postgres, orchestrated by Dagster.

Layers, lowest first (a lower layer never imports a higher one):
  settings      configuration from the environment
  youtube/      the source: API client, id parsing, simulator (no Dagster)
  warehouse/    the Postgres store: schema, migrations, writes and read queries (no Dagster)
  defs/         Dagster assets, partitions, resources, jobs, schedules, sensors
  cli, devserver  user surfaces
"""
