"""ytmetrics.cadence_interval(tiers, age_hours): the observation interval of a video's age tier.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # tiers: [{"pos": 0, "max_age_hours": 168, "every_hours": 1}, {"pos": 1, "max_age_hours":
    # null, "every_hours": 24}]; the first tier (by pos) whose max age is not reached wins.
    # An unknown age (NULL published_at) falls into the last, open-ended tier.
    op.execute(
        """
        CREATE FUNCTION ytmetrics.cadence_interval(tiers jsonb, age_hours double precision)
        RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT t.every_hours
            FROM jsonb_to_recordset(tiers)
                 AS t(pos integer, max_age_hours double precision, every_hours integer)
            WHERE t.max_age_hours IS NULL OR age_hours < t.max_age_hours
            ORDER BY t.pos
            LIMIT 1
        $$;
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION ytmetrics.cadence_interval(jsonb, double precision)")
