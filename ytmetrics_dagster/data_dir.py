"""What the data directory (YTMETRICS_HOME) records about itself, and where `make run` left it.

Two small files, so that loading the definitions and finding the warehouse need neither a
database nor a process:

- ``$YTMETRICS_HOME/partitions_start``: the deployment's first day (YYYY-MM-DD), written when
  the warehouse is migrated (`ytmetrics db upgrade`, `ytmetrics dev`); the warehouse keeps
  the same day in ``ytmetrics.deployment``. The time partitions start there unless
  YTMETRICS_PARTITIONS_START says otherwise.
- ``<user state dir>/ytmetrics/dev-home-<install>.json`` (``$XDG_STATE_HOME``, by default
  ``~/.local/state``): the data directory the last `ytmetrics dev` (make run) of this
  installation served. A command run without YTMETRICS_HOME, from any directory, uses it
  while that `make run` serves it: every terminal finds `make run`'s warehouse, and
  `ytmetrics demo-history` its Dagster UI (the port it was given). One record per installation
  (the package's folder), so two checkouts never follow each other.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import ytmetrics_dagster

PARTITIONS_START_FILE = "partitions_start"
# written by `ytmetrics dev` into every data directory it serves (runtime/devserver.py)
DEV_LOCK_FILE = "dev.lock"


class RecordedDayError(ValueError):
    """The data directory's partitions_start file does not hold a date."""


def record_partitions_start(home: Path, day: date) -> Path:
    """Write the deployment's first day into the data directory (atomically)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / PARTITIONS_START_FILE
    _write_atomically(path, day.isoformat() + "\n")
    return path


def recorded_partitions_start(home: Path) -> date | None:
    """The first day recorded in ``home``, or None if nothing was recorded there."""
    path = home / PARTITIONS_START_FILE
    try:
        raw = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RecordedDayError(
            f"{path} must hold the deployment's first day as YYYY-MM-DD, got {raw[:40]!r}: "
            "run `ytmetrics db upgrade` to write it again"
        ) from None


@functools.cache
def install_key() -> str:
    """This installation: the folder the package is imported from."""
    package = Path(ytmetrics_dagster.__file__).resolve().parent
    return hashlib.sha256(str(package).encode()).hexdigest()[:12]


def dev_record_path() -> Path:
    import platformdirs

    return platformdirs.user_state_path("ytmetrics") / f"dev-home-{install_key()}.json"


def record_dev_home(home: Path, ui_url: str | None = None) -> Path:
    """Remember ``home`` as the data directory `ytmetrics dev` serves (for every terminal), and
    the address of its Dagster UI (`make run PORT=…`)."""
    path = dev_record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "home": str(Path(home).resolve()),
        "ui_url": ui_url,
        "package": str(Path(ytmetrics_dagster.__file__).resolve().parent),
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_atomically(path, json.dumps(record, indent=2) + "\n")
    return path


def _running_dev_record() -> dict | None:
    """The record of the last `ytmetrics dev` of this installation while it still serves its
    data directory (its dev.lock is held); None otherwise (no record, unreadable, or that
    `make run` has stopped)."""
    try:
        record = json.loads(dev_record_path().read_text())
        home = Path(record["home"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if lock_is_held(home / DEV_LOCK_FILE) else None


def recorded_dev_home() -> Path | None:
    """The data directory the last `ytmetrics dev` of this installation served, while it still
    serves it; None otherwise (a stopped deployment's record must not lead a write to a
    warehouse no Dagster serves, while another `make run` may be running)."""
    record = _running_dev_record()
    return Path(record["home"]) if record else None


def recorded_dev_ui_url() -> str | None:
    """The Dagster UI of the running `make run` of this installation (its PORT), if any."""
    record = _running_dev_record()
    url = record.get("ui_url") if record else None
    return url if isinstance(url, str) and url else None


def lock_is_held(path: Path) -> bool:
    """Whether a process holds the exclusive lock `ytmetrics dev` takes on ``path``."""
    import fcntl

    try:
        with path.open("rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def _write_atomically(path: Path, content: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(content)
    os.replace(partial, path)
