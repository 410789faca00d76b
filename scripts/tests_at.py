"""Run tests as if each began at a chosen time of day (UTC): a few seconds before an hour's
end, midnight UTC (day partitions) or midnight Pacific (the quota day, 08:00 UTC in winter),
to find what depends on when CI runs before CI does.

Every process of the run (pytest, the embedded Postgres it starts, the simulator's threads)
reads one clock, shifted by libfaketime (Debian's ``faketime`` package: ``apt-get install
faketime``) through an offset file that this file, loaded as a pytest plugin, rewrites before
each test: the test starts on the next day at ``--at`` (time never goes back), and the clock
then runs at its real pace. ``--once``: only the first test starts there (for module-scoped
data built once, e.g. test_dashboard_growth.py); the others follow on.

    .venv/bin/python scripts/tests_at.py --at 23:59:55 -- ytmetrics_dagster_tests/test_storage.py -k retention
    .venv/bin/python scripts/tests_at.py --at 07:59:59.8 -- ytmetrics_dagster_tests/test_quota_pacing.py

The first test also starts the session's Postgres (a few seconds): name a cheap test first when
the exact instant matters. Known artifacts of the shifted clock, not of the code: a test waiting
on a thread with a timeout (threading.Event.wait, a sliding-window rate limit) can hang, since
libfaketime shifts the monotonic clock those waits are computed on; run such files on their own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
OFFSET_FILE = "YTMETRICS_TESTS_AT_OFFSET_FILE"
AT = "YTMETRICS_TESTS_AT"
ONCE = "YTMETRICS_TESTS_AT_ONCE"


def _parse_at(value: str):
    return datetime.strptime(value, "%H:%M:%S.%f" if "." in value else "%H:%M:%S").time()


# -- the pytest plugin (loaded with -p tests_at) ----------------------------------------------

_offset = [0.0]


def _write_offset(offset: float) -> None:
    path = os.environ[OFFSET_FILE]
    with open(path + ".tmp", "w") as f:
        f.write(f"{offset:+.3f}\n")
    os.replace(path + ".tmp", path)
    _offset[0] = offset


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:  # runs before the test's fixtures
    if os.environ.get(ONCE) and _offset[0] != 0:
        return
    fake_now = time.time()  # shifted by the current offset
    real_now = fake_now - _offset[0]
    day = datetime.fromtimestamp(fake_now, UTC).date() + timedelta(days=1)
    target = datetime.combine(day, _parse_at(os.environ[AT]), tzinfo=UTC).timestamp()
    _write_offset(target - real_now)


# -- the runner ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", required=True, help="HH:MM:SS[.ffffff] UTC each test starts at")
    parser.add_argument("--once", action="store_true", help="only the first test starts there")
    parser.add_argument("pytest_args", nargs="+", help="after --: what pytest gets")
    args = parser.parse_args()
    _parse_at(args.at)  # a bad time fails here, not in every test
    if not LIBFAKETIME.exists():
        print(f"{LIBFAKETIME} is missing: apt-get install faketime", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ytm-tests-at-") as tmp:
        offset_file = Path(tmp) / "offset"
        offset_file.write_text("+0\n")
        env = dict(
            os.environ,
            LD_PRELOAD=str(LIBFAKETIME),
            FAKETIME_TIMESTAMP_FILE=str(offset_file),
            FAKETIME_NO_CACHE="1",
            PYTHONPATH=os.pathsep.join(
                p for p in (str(ROOT / "scripts"), os.environ.get("PYTHONPATH")) if p
            ),
            **{OFFSET_FILE: str(offset_file), AT: args.at},
        )
        if args.once:
            env[ONCE] = "1"
        command = [
            str(ROOT / ".venv" / "bin" / "pytest"),
            "-p",
            "tests_at",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp}/pytest",
            *args.pytest_args,
        ]
        return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
