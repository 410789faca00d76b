"""The rules, pure (no I/O, no Dagster): age-tiered cadence, quota capacity, quota pacing."""
