"""Transaction-scoped advisory locks: writers of the same table window queue up instead of
interleaving their DELETE and INSERT. One namespace per kind of writer."""

from __future__ import annotations

from sqlalchemy import text

SNAPSHOTS = 0x736E6170  # "snap": key = the hour (hours since the epoch)
GROWTH = 0x67726F77  # "grow": key 1 hourly, 2 daily
ANALYSIS = 0x616E6C79  # "anly": key 1 channel daily, 2 launch curves, 3 milestones
MIGRATIONS = 0x79746D6D  # "ytmm"
QUOTA = 0x71756F74  # "quot": key = quota day (days since the epoch) * 2 + bucket
# Snapshot writes hold this shared, growth rebuilds exclusive: a rebuild never interleaves
# with a snapshot write, so growth is computed from snapshots as committed.
GROWTH_GATE = (0x67617465, 0)  # "gate"
REGISTRATIONS = 0x72656773  # "regs": users asking to register the same video at once
# Every snapshot write holds this while it keeps video_observation_state: writes of hours on
# different days hold different locks, and each decides from the record which videos to re-read
# from the history, so the decision must see the other writes committed.
OBSERVATION_STATE = (0x73746174, 0)  # "stat"


def xact_lock(conn, namespace: int, key: int = 0) -> None:
    """Take the advisory lock (namespace, key) until the current transaction ends."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": namespace, "key": key})


def xact_lock_shared(conn, lock: tuple[int, int]) -> None:
    conn.execute(
        text("SELECT pg_advisory_xact_lock_shared(:ns, :key)"), {"ns": lock[0], "key": lock[1]}
    )


def xact_lock_exclusive(conn, lock: tuple[int, int]) -> None:
    xact_lock(conn, *lock)


def xact_lock_shared_then(conn, shared: tuple[int, int], namespace: int, key: int = 0) -> None:
    """``xact_lock_shared(shared)``, then ``xact_lock(namespace, key)``, in one round trip:
    the outer lock is taken for the row the (unflattened: OFFSET 0) inner query returns, so
    always after the inner one, as two statements would."""
    conn.execute(
        text(
            "SELECT pg_advisory_xact_lock(:ns, :key) FROM "
            "(SELECT pg_advisory_xact_lock_shared(:shared_ns, :shared_key) OFFSET 0) AS first"
        ),
        {"ns": namespace, "key": key, "shared_ns": shared[0], "shared_key": shared[1]},
    )
