"""Two first writers of a new day both succeed, and each write marks the day's partition.

- ``ensure_day_partition``: the second of two transactions creating the same missing day
  partition waited on the advisory lock, then asked ``to_regclass`` again, which answers from
  the backend's catalog cache: taking an advisory lock does not make a backend read the other
  transaction's committed ``CREATE TABLE``, so it tried to create the table again and failed
  (``relation ... already exists``), e.g. a backfill writing a day beside the hourly run before
  the partition upkeep had made it. After the lock, the check now reads ``pg_class`` with the
  statement's own snapshot, which sees every committed table.
- ``prepare_day_partitions``: a write's "these partitions exist, mark them written" in one
  call: each ``ensure_day_partition``, then the mark as a statement of its own, which sees a
  registration another transaction committed meanwhile (a data-modifying WITH beside the ensure
  would see the registry as its statement began, and miss it).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_BODY = """
CREATE OR REPLACE FUNCTION ytmetrics.ensure_day_partition(parent text, day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    child text := parent || '_p' || to_char(day, 'YYYYMMDD');
BEGIN
    IF parent NOT IN ('metric_snapshots', 'video_growth_hourly') THEN
        RAISE EXCEPTION 'ytmetrics.%: not a day-partitioned table', parent;
    END IF;
    IF to_regclass(format('ytmetrics.%I', child)) IS NOT NULL THEN
        RETURN child;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ytmetrics.partition'), hashtext(child));
    {recheck}
    EXECUTE format(
        'CREATE TABLE ytmetrics.%I (LIKE ytmetrics.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        child, parent);
    EXECUTE format(
        'ALTER TABLE ytmetrics.%I ATTACH PARTITION ytmetrics.%I FOR VALUES FROM (%L) TO (%L)',
        parent, child, day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
    INSERT INTO ytmetrics.day_partitions (partition_name, parent, day)
    VALUES (child, parent, day) ON CONFLICT (partition_name) DO NOTHING;
    RETURN child;
END $$;
"""

# after the lock: the catalog as of this statement (committed tables included)
RECHECK = """IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'ytmetrics' AND c.relname = child
    ) THEN
        RETURN child;
    END IF;"""

# 0007's check, for the downgrade
OLD_RECHECK = """IF to_regclass(format('ytmetrics.%I', child)) IS NOT NULL THEN
        RETURN child;
    END IF;"""

PREPARE_DAY_PARTITIONS = """
CREATE FUNCTION ytmetrics.prepare_day_partitions(parent text, days date[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ytmetrics.ensure_day_partition(parent, d) FROM unnest(days) AS d;
    UPDATE ytmetrics.day_partitions SET last_written_at = clock_timestamp()
    WHERE day_partitions.parent = prepare_day_partitions.parent
      AND day_partitions.day = ANY(prepare_day_partitions.days);
END $$;
"""


def upgrade() -> None:
    op.execute(_BODY.replace("{recheck}", RECHECK))
    op.execute(PREPARE_DAY_PARTITIONS)


def downgrade() -> None:
    op.execute("DROP FUNCTION ytmetrics.prepare_day_partitions(text, date[])")
    op.execute(_BODY.replace("{recheck}", OLD_RECHECK))
