"""ytmetrics-dagster: hourly YouTube statistics history in Postgres, orchestrated by Dagster.

The package reads as the pipeline, lowest layer first (a lower layer never imports a higher one,
ytmetrics_dagster_tests/test_layers.py checks it):
  domain/       pure rules (no I/O): cadence, capacity, quota pacing
  settings.py   configuration: the one reader of the environment; data_dir.py: what `make run`
                and the migrations recorded in the data directory
  youtube/      the source: API client, id parsing, the offline simulator (no Dagster)
  warehouse/    the Postgres store: schema, migrations, every SQL statement (no Dagster)
  services/     source + store together: channel discovery, alerting, the quota status
  defs/         the Dagster definitions, one package per concept (snapshots, growth,
                registration, channels, operations) holding its assets, checks, jobs,
                schedules and sensors
  surfaces/     what people and systems use: CLI, MCP server, dashboard, HTTP API
  runtime/      how it runs unattended: `ytmetrics dev`, supervisord, run launcher, watchdog
"""
