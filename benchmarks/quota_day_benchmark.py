"""Benchmark: a quota day replayed at 0.5×, 1×, 1.5× and 3× the budget on a 23-, 24- and
25-hour Pacific day, and a day whose retries eat the slack, with main's all-or-nothing
reservation ("before": each hourly run reserves every due unit or is refused) and with quota
pacing ("after", issue #19).

    .venv/bin/python benchmarks/quota_day_benchmark.py [--budget 480] [--reserve 1]

Each hour of the day: who is due (the production query), what the run may spend (the
production pacing and selection, or main's reservation), the calls charged to the simulator's
own quota accounting (which refuses a unit over the budget, as YouTube does), the write of the
observed videos. 1× is the number of hourly videos a 24-hour day's budget covers exactly
(budget × 50 / 24), 10 % of them in their first 48 hours. The retry day is 1× on 24 hours with
one retried call in each of 12 hours. It starts its own embedded Postgres, so it touches
nothing else.

Per run: hours with no observation at all (goal 0 whenever one batch fits), units unspent at
the reset while videos were deferred (goal ≤ 1 batch, the reserve), hourly coverage of the
videos in their first 48 hours (goal 100 % while they alone fit), units over budget (goal 0).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ytmetrics_dagster.warehouse.embedded import start_embedded_postgres, stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import database_on_server, get_engine
from ytmetrics_dagster.warehouse.migrate import upgrade
from ytmetrics_dagster_tests.conftest import TABLES
from ytmetrics_dagster_tests.quota_replay import DAY_23H, DAY_24H, DAY_25H, replay_day

DAYS = {"23 h": DAY_23H, "24 h": DAY_24H, "25 h": DAY_25H}
MULTIPLES = (0.5, 1, 1.5, 3)


def clean(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE "
                + ", ".join("ytmetrics." + t for t in TABLES)
                + " RESTART IDENTITY CASCADE"
            )
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=480, help="units a day (default 480)")
    parser.add_argument("--reserve", type=int, default=1, help="pacing reserve units")
    args = parser.parse_args(argv)
    per_1x = args.budget * 50 // 24
    root = Path(tempfile.mkdtemp(prefix="ytm-quota-day-bench-"))
    pgdata = root / "pgdata"
    server = start_embedded_postgres(pgdata)
    try:
        engine = get_engine(database_on_server(server, "bench", "psycopg"))
        upgrade(engine)
        print(
            f"budget {args.budget} units/day, 1× = {per_1x} hourly videos "
            f"({per_1x // 10} in their first 48 h), reserve {args.reserve}"
        )
        print(
            "| day | demand | mode | hours without observation | unspent at reset "
            "(while deferred) | first-48 h coverage | over budget | videos not observed | seconds |"
        )
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        runs = [(label, day, m, None) for label, day in DAYS.items() for m in MULTIPLES]
        runs.append(("24 h", DAY_24H, 1, {h: 1 for h in range(4, 16)}))
        for label, day, multiple, retries in runs:
            for mode in ("refusal", "paced"):
                clean(engine)
                young = round(per_1x * multiple / 10)
                started = time.monotonic()
                r = replay_day(
                    engine,
                    day,
                    budget_units=args.budget,
                    young=young,
                    hourly=round(per_1x * multiple) - young,
                    mode=mode,
                    retries=retries,
                    reserve_units=args.reserve,
                )
                demand = f"{multiple}×" + (" + 12 retries" if retries else "")
                print(
                    f"| {label} | {demand} | {'before (refusal)' if mode == 'refusal' else 'after (paced)'} "
                    f"| {r.hours_without_observation} | {r.unspent} ({r.unspent_while_deferred}) "
                    f"| {r.young_coverage:.1%} | {r.over_budget} | {r.due - r.observed:,} "
                    f"| {time.monotonic() - started:.1f} |",
                    flush=True,
                )
    finally:
        stop_embedded_postgres(pgdata)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
