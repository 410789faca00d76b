"""What needs the source and the store together, shared by the Dagster definitions and the
surfaces: channel discovery, alert recording and delivery, the quota status."""
