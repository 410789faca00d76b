"""The analysts' dashboard: tracked videos and one video's growth as charts, served next to
the Dagster UI (``python -m ytmetrics_dagster.surfaces.dashboard``). Read-only, on the warehouse read
API; charts are SVG rendered here, so pages need no script and no network."""
