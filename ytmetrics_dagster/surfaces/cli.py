"""`ytmetrics`: register, list, inspect and remove tracked videos; manage the warehouse.

Exit codes: 0 success, 1 runtime failure (e.g. database unreachable, Dagster not running),
2 invalid input (nothing was changed); `register --wait`: 3 a request was rejected, 4 no
verdict before the timeout, 1 a request failed (YouTube could not be asked: the cause is shown).

The parser is built from the standard library and cheap modules alone; each command imports
what it needs (SQLAlchemy, the warehouse) in its own body, so `--help` answers at
once and a read command never loads Dagster (ytmetrics_dagster_tests/test_cli_imports.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ytmetrics_dagster.surfaces import demo_history
from ytmetrics_dagster.surfaces.inputs import (
    ALERTS_LIMIT,
    DAYS,
    DEMO_HOURS,
    EXISTING_UPLOADS,
    EXIT_FAILURE,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_TIMEOUT,
    ID,
    LIST_LIMIT,
    OFFSET,
    PORT,
    REQUESTS_LIMIT,
    TOP_HOURS,
    TOP_LIMIT,
    WAIT_SECONDS,
    Bound,
    UserInputError,
    clip,
    clip_message,
    describe_failure,
)
from ytmetrics_dagster.warehouse.read_limits import INTERVALS, REQUEST_STATUSES
from ytmetrics_dagster.youtube.ids import (
    InvalidVideoInput,
    is_video_id,
    parse_channel,
    parse_video_id,
    parse_video_inputs,
)

FORMATS = ("table", "json", "csv")
PRIORITY = Bound("priority", 1, 1000)
# how many invalid inputs are listed one by one before "and N more"
_MAX_LISTED_ERRORS = 10


def _engine(migrated: bool = True, create: bool = False):
    from ytmetrics_dagster.warehouse.engine import (
        DatabaseUnavailableError,
        check_connection,
        get_engine,
        running_warehouse_url,
        warehouse_url,
    )
    from ytmetrics_dagster.warehouse.migrate import require_current

    # the embedded server already runs: its URL from its pid file, with no extra connection
    fast = None if create else running_warehouse_url()
    engine = None
    if fast is not None:
        engine = get_engine(fast)
        try:
            check_connection(engine)
        except DatabaseUnavailableError:  # a stale pid file, no database yet: the long way
            engine = None
    if engine is None:
        # an embedded warehouse is created only by `db upgrade`: a read where there is none
        # says so
        engine = get_engine(warehouse_url(create=create))
        check_connection(engine)
    if migrated:
        require_current(engine)
    return engine


# -- argument types: each states its one rule, and echoes at most 200 characters -----------


def _bounded(bound: Bound):
    def parse(raw: str) -> int:
        try:
            return bound.parse(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{bound.requirement} (got {clip(raw)})") from None

    parse.__name__ = bound.name
    return parse


def _video(raw: str) -> str:
    try:
        return parse_video_id(raw)
    except InvalidVideoInput as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _channel_filter(raw: str) -> str:
    try:
        ref = parse_channel(raw)
    except InvalidVideoInput as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if ref.channel_id is None:
        raise argparse.ArgumentTypeError(
            f"filter by a channel id (UC…), not a handle: {clip(raw)} "
            "(`ytmetrics channels` lists them with their ids)"
        )
    return ref.channel_id


def _existing(raw: str) -> int | None:
    if raw.strip() == "all":
        return None
    try:
        return EXISTING_UPLOADS.parse(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'all' or an integer from {EXISTING_UPLOADS.low} to "
            f"{EXISTING_UPLOADS.high} (got {clip(raw)})"
        ) from None


def _emit_listing(result, key: str, row_model, fmt: str, header: list[str]) -> None:
    """A listing (a result model) in the requested format: JSON, CSV or a table whose cells
    are shown whole (surfaces/tables.py; no pandas)."""
    from ytmetrics_dagster.surfaces import results, tables

    if fmt == "json":
        print(results.dumps(result))
        return
    payload = result.json_dict()
    columns = list(results.kinds(row_model))
    if fmt == "csv":
        sys.stdout.write(tables.render_csv(payload[key], columns))
        return
    for name in header:
        print(f"{name}: {payload[name]}")
    print(tables.render_table(payload[key], columns) if payload[key] else "(none)")


# -- commands ----------------------------------------------------------------------------------


def _describe_registration(r) -> str:
    from ytmetrics_dagster.warehouse import registrations as reg

    if r.outcome == reg.QUEUED:
        return f"queued {r.video_id} (request {r.request_id})"
    if r.outcome == reg.ALREADY_PENDING:
        return f"{r.video_id} is already pending (request {r.request_id}); not queued again"
    if r.outcome == reg.ALREADY_TRACKED:
        return f"{r.video_id} is already tracked; nothing to do"
    return f"{r.video_id} is named more than once; taken once"


def _print_verdict(r) -> None:
    reason = f": {r.reason}" if r.reason else ""
    print(f"{r.status} {r.video_id} (request {r.request_id}){reason}", flush=True)


def cmd_register(args) -> int:
    from ytmetrics_dagster.warehouse.registrations import await_verdicts, request_registrations

    parsed, errors = parse_video_inputs(args.inputs)
    if errors:
        for message in errors[:_MAX_LISTED_ERRORS]:
            print(f"error: {message}", file=sys.stderr)
        if len(errors) > _MAX_LISTED_ERRORS:
            print(f"error: and {len(errors) - _MAX_LISTED_ERRORS} more", file=sys.stderr)
        print("nothing was queued", file=sys.stderr)
        return EXIT_INVALID
    engine = _engine()
    outcomes = request_registrations(engine, parsed, requested_by="cli")
    text = args.format == "text"
    if text:
        for r in outcomes:
            print(_describe_registration(r), flush=True)
    if args.wait:
        outcomes = await_verdicts(
            engine, outcomes, args.timeout, on_verdict=_print_verdict if text else None
        )
    elif text and any(r.status == "pending" for r in outcomes):
        print(
            "the registration_requests_sensor applies them within a minute (Dagster must be "
            "running); `ytmetrics requests` shows each verdict, `register --wait` waits for it"
        )
    if not text:
        from ytmetrics_dagster.surfaces import results

        print(results.dumps(results.Registrations.model_validate({"registrations": outcomes})))
    if not args.wait:
        return EXIT_OK
    pending = [r for r in outcomes if r.status == "pending"]
    if text and pending:
        print(
            f"no verdict after {args.timeout} s for "
            + ", ".join(f"{r.video_id} (request {r.request_id})" for r in pending)
            + ": is Dagster running (`make run`)? Its registration_requests_sensor applies them",
            file=sys.stderr,
        )
    if any(r.status == "failed" for r in outcomes):
        return EXIT_FAILURE
    if any(r.status == "rejected" for r in outcomes):
        return EXIT_REJECTED
    return EXIT_TIMEOUT if pending else EXIT_OK


def cmd_requests(args) -> int:
    from ytmetrics_dagster.warehouse.registrations import request_rows

    frame, total = request_rows(
        _engine(), status=args.status, video_id=args.video, limit=args.limit, offset=args.offset
    )
    from ytmetrics_dagster.surfaces import results

    payload = results.RequestList.model_validate(
        {"total": total, "offset": args.offset, "limit": args.limit, "requests": frame}
    )
    # a verdict's reason is shown whole: it is what the person waiting needs to read
    _emit_listing(payload, "requests", results.RequestRow, args.format, ["total"])
    return EXIT_OK


def cmd_videos(args) -> int:
    from ytmetrics_dagster.warehouse.video_listing import video_rows

    frame, total = video_rows(
        _engine(), status=args.status, channel_id=args.channel, limit=args.limit, offset=args.offset
    )
    from ytmetrics_dagster.surfaces import results

    payload = results.VideoList.model_validate(
        {"total": total, "offset": args.offset, "limit": args.limit, "videos": frame}
    )
    _emit_listing(payload, "videos", results.VideoRow, args.format, ["total", "offset", "limit"])
    return EXIT_OK


def cmd_metrics(args) -> int:
    from ytmetrics_dagster.warehouse.metric_series import GROWTH_DEFINITION, video_metric_rows

    result = video_metric_rows(_engine(), args.video, days=args.days, interval=args.interval)
    from ytmetrics_dagster.surfaces import results

    metrics = results.Metrics.from_read(result, GROWTH_DEFINITION)
    if args.format == "json":
        print(results.dumps(metrics))
        return EXIT_OK
    from ytmetrics_dagster.surfaces import tables

    payload = metrics.json_dict()
    columns = list(results.kinds(results.SeriesRow))
    if args.format == "csv":
        sys.stdout.write(tables.render_csv(payload["series"], columns))
        return EXIT_OK
    video = payload["video"]
    print(f"{video['video_id']}  {video['title']}  ({video['channel_title']}, {video['status']})")
    print(f"last {result.days} days by {result.interval}")
    series = payload["series"]
    print(tables.render_table(series, columns) if series else "(no observations)")
    for metric, g in (payload["growth"] or {}).items():
        pct = "n/a" if g["percent"] is None else f"{g['percent']:.2f}%"
        absolute = "n/a" if g["absolute"] is None else f"{g['absolute']:+,}"
        print(f"growth {metric}: {absolute} ({pct})")
    return EXIT_OK


def cmd_analyze(args) -> int:
    from ytmetrics_dagster.warehouse.performance import analyze_video_performance

    result = analyze_video_performance(_engine(), args.video, args.days, args.interval)
    from ytmetrics_dagster.surfaces import results

    print(results.dumps(results.Analysis.from_read(result)))
    return EXIT_OK


def cmd_top(args) -> int:
    from ytmetrics_dagster.warehouse.top_growers import TOP_GROWERS_METHOD, top_growing_rows

    frame = top_growing_rows(_engine(), hours=args.hours, limit=args.limit, channel_id=args.channel)
    from ytmetrics_dagster.surfaces import results

    payload = results.Top.model_validate(
        {
            "hours": args.hours,
            "limit": args.limit,
            "channel_id": args.channel,
            "method": TOP_GROWERS_METHOD,
            "videos": frame,
        }
    )
    _emit_listing(payload, "videos", results.TopRow, args.format, ["hours", "method"])
    return EXIT_OK


def cmd_remove(args) -> int:
    from ytmetrics_dagster.warehouse.videos import remove_video

    removal = remove_video(
        _engine(), args.video, delete_metrics=args.delete_metrics, now=datetime.now(UTC)
    )
    if removal.already_removed:
        from ytmetrics_dagster.surfaces.results import timestamp

        print(
            f"{args.video} was already removed (at {timestamp(removal.removed_at)})"
            + ("" if args.delete_metrics else "; nothing changed")
        )
    else:
        print(f"removed {args.video} from tracking")
    if args.delete_metrics:
        d = removal.deleted
        print(
            f"deleted {d['snapshots']} snapshots, {d['growth_hourly']} hourly and "
            f"{d['growth_daily']} daily growth rows"
        )
    return EXIT_OK


def cmd_quota(args) -> int:
    from ytmetrics_dagster.services.quota_status import quota_status, render
    from ytmetrics_dagster.settings import load_settings
    from ytmetrics_dagster.warehouse.quota import Budget

    status = quota_status(
        _engine(),
        Budget(),
        use_batch_get_stats=load_settings().use_batch_get_stats,
    )
    print(quota_json(status) if args.json else render(status))
    return EXIT_OK


def quota_json(status: dict) -> str:
    """``quota --json``: the QUOTA result, indented (as it always was)."""
    from ytmetrics_dagster.surfaces import results

    return json.dumps(results.Quota.model_validate(status).json_dict(), indent=2)


def cmd_pin(args) -> int:
    from ytmetrics_dagster.warehouse.pacing import pin

    new = pin(_engine(), args.video, priority=args.priority, by="cli")
    if new:
        print(f"pinned {args.video} (priority {args.priority})")
    else:
        print(f"{args.video} was already pinned; its priority is now {args.priority}")
    return EXIT_OK


def cmd_unpin(args) -> int:
    from ytmetrics_dagster.warehouse.pacing import unpin

    removed = unpin(_engine(), args.video)
    print(f"unpinned {args.video}" if removed else f"{args.video} was not pinned; nothing changed")
    return EXIT_OK


def cmd_track_channel(args) -> int:
    from ytmetrics_dagster.surfaces import actions

    result = actions.track(_engine(), args.channel, existing=args.existing, requested_by="cli")
    info = result.channel
    print(
        f"tracking {info.channel_id} {info.handle or ''} {info.title!r} (uploads {info.uploads_playlist_id})"
    )
    print(
        f"queued {result.queued} existing upload(s); new uploads are registered by channel_uploads_sensor"
    )
    return EXIT_OK


def cmd_untrack_channel(args) -> int:
    from ytmetrics_dagster.surfaces import actions

    channel_id = actions.untrack(_engine(), args.channel)
    print(
        f"stopped polling {channel_id}; its videos stay tracked (remove them with `ytmetrics remove`)"
    )
    return EXIT_OK


def cmd_channels(args) -> int:
    from ytmetrics_dagster.warehouse.channels import channel_rows

    frame = channel_rows(_engine(), include_untracked=args.all)
    from ytmetrics_dagster.surfaces import results

    payload = results.ChannelList.model_validate({"total": len(frame), "channels": frame})
    _emit_listing(payload, "channels", results.ChannelRow, args.format, ["total"])
    return EXIT_OK


def cmd_alerts(args) -> int:
    from ytmetrics_dagster.warehouse.alert_inbox import acknowledge, alert_rows

    engine = _engine()
    if args.action == "ack":
        if args.alert_id is None:
            raise UserInputError("`ytmetrics alerts ack ID` needs the alert's id")
        try:
            alert_id = ID.parse(args.alert_id)
        except ValueError as err:
            raise UserInputError(str(err)) from None
        row = acknowledge(engine, alert_id, by="cli", now=datetime.now(UTC))
        print(f"acknowledged alert {row['alert_id']} ({row['kind']}): {row['message'][:200]}")
        return EXIT_OK
    if args.alert_id is not None:
        raise UserInputError(
            f"unexpected argument {clip(args.alert_id)} (did you mean `alerts ack ID`?)"
        )
    frame, total = alert_rows(
        engine, include_acknowledged=args.all, limit=args.limit, offset=args.offset
    )
    from ytmetrics_dagster.surfaces import results

    payload = results.AlertList.model_validate(
        {"total": total, "offset": args.offset, "limit": args.limit, "alerts": frame}
    )
    _emit_listing(payload, "alerts", results.AlertRow, args.format, ["total"])
    return EXIT_OK


def cmd_tokens(args) -> int:
    from ytmetrics_dagster.warehouse.api_tokens import create_token, revoke_token, token_rows

    engine = _engine()
    if args.action == "create":
        token = create_token(engine, args.name, read_only=args.read_only)
        kind = "read-only" if token.read_only else "read-write"
        print(f"created {kind} token {token.token_id} {token.name!r}; it is shown once, keep it:")
        print(token.secret)
        return EXIT_OK
    if args.action == "revoke":
        token = revoke_token(engine, args.token, now=datetime.now(UTC))
        print(f"revoked token {token.token_id} {token.name!r}")
        return EXIT_OK
    frame = token_rows(engine, include_revoked=args.all)
    from ytmetrics_dagster.surfaces import results

    tokens = results.TokenList.model_validate({"tokens": frame})
    if args.format == "json":
        print(results.dumps(tokens))
        return EXIT_OK
    from ytmetrics_dagster.surfaces.tables import render_table

    rows = tokens.json_dict()["tokens"]
    print(render_table(rows, list(results.kinds(results.TokenRow))) if rows else "(no tokens)")
    return EXIT_OK


def libpq_url(sqlalchemy_url: str) -> str:
    """The same database as a libpq URI (``postgresql://…``), for psql and psycopg."""
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


def cmd_db_url(args) -> int:
    from ytmetrics_dagster.warehouse.engine import warehouse_url

    url = warehouse_url()
    print(url if args.sqlalchemy else libpq_url(url))
    return EXIT_OK


def cmd_db_upgrade(args) -> int:
    from ytmetrics_dagster.data_dir import record_partitions_start
    from ytmetrics_dagster.settings import load_settings
    from ytmetrics_dagster.warehouse.deployment import partitions_start
    from ytmetrics_dagster.warehouse.engine import safe_url
    from ytmetrics_dagster.warehouse.migrate import upgrade

    engine = _engine(migrated=False, create=True)
    revision = upgrade(engine)
    print(f"warehouse at {safe_url(str(engine.url))} is at revision {revision}")
    first_day = partitions_start(engine)
    print(f"the deployment's first day (YTMETRICS_PARTITIONS_START): {first_day}")
    # the definitions read it from the data directory: they load without the database
    home = load_settings().home
    try:
        print(f"recorded in {record_partitions_start(home, first_day)}")
    except OSError as err:  # e.g. a read-only image: the deployment sets the variable instead
        print(
            f"warning: could not record it in {home} ({err.strerror or err}): set "
            f"YTMETRICS_PARTITIONS_START={first_day} where the definitions load",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_db_stop(args) -> int:
    from ytmetrics_dagster.settings import load_settings
    from ytmetrics_dagster.warehouse.embedded import stop_embedded_postgres

    settings = load_settings()
    if settings.database_url:
        raise UserInputError(
            "YTMETRICS_DATABASE_URL is set: an external database is not stopped here"
        )
    stopped = stop_embedded_postgres(settings.embedded_pgdata)
    print("embedded Postgres stopped" if stopped else "embedded Postgres was not running")
    return EXIT_OK


def cmd_db_backup(args) -> int:
    from ytmetrics_dagster.warehouse.backup import BackupInputError, backup

    try:
        done = backup(Path(args.path))
    except BackupInputError as err:
        raise UserInputError(str(err)) from None
    print(
        f"backed up the warehouse (revision {done.revision}) to {done.path}: "
        f"{done.size_bytes:,} bytes in {done.seconds:.1f} s"
    )
    return EXIT_OK


def cmd_db_restore(args) -> int:
    from ytmetrics_dagster.warehouse.backup import BackupInputError, restore

    try:
        restored = restore(Path(args.path), force=args.force)
    except BackupInputError as err:
        raise UserInputError(str(err)) from None
    print(f"restored {restored.path} in {restored.seconds:.1f} s (revision {restored.revision})")
    if restored.needs_upgrade:
        print(f"the code expects revision {restored.head}: run `ytmetrics db upgrade`")
    return EXIT_OK


def cmd_demo_history(args) -> int:
    from ytmetrics_dagster.settings import load_settings

    try:
        demo_history.refuse_real_api(load_settings().uses_simulator)
        launched = demo_history.launch(args.dagster_url or demo_history.default_url(), args.hours)
    except demo_history.BackfillRefused as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except (demo_history.DagsterNotRunning, RuntimeError) as err:
        print(f"error: {clip_message(str(err))}", file=sys.stderr)
        return EXIT_FAILURE
    first, last = launched.partitions[0], launched.partitions[-1]
    print(
        f"launched backfill {launched.backfill_id}: {demo_history.JOB} "
        f"({', '.join(demo_history.ASSETS)}) over {len(launched.partitions)} hours, "
        f"{first} .. {last} UTC"
    )
    print(f"the Dagster daemon runs it as one run; follow it at {launched.ui_url}")
    return EXIT_OK


def cmd_mcp(args) -> int:
    from ytmetrics_dagster.surfaces.mcp_server import main as serve

    serve()
    return EXIT_OK


def cmd_status(args) -> int:
    from ytmetrics_dagster.runtime.status import NotRunningError, program_states
    from ytmetrics_dagster.settings import load_settings

    home = load_settings().home
    try:
        states = program_states(home)
    except NotRunningError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILURE
    # either format: exit 1 while a program is not RUNNING (EXITED: `announce`, done)
    healthy = all(s.state in ("RUNNING", "EXITED") for s in states)
    if args.format == "json":
        print(status_json(home, states))
        return EXIT_OK if healthy else EXIT_FAILURE
    rows = [
        [s.name, s.state, s.pid or "", _duration(s.uptime_seconds), s.restarts, s.description]
        for s in states
    ]
    from tabulate import tabulate

    print(tabulate(rows, headers=["program", "state", "pid", "uptime", "restarts", "detail"]))
    print(f"logs: {home / 'logs'}")
    return EXIT_OK if healthy else EXIT_FAILURE


def status_json(home: Path, states: list) -> str:
    """``status --format json``: the STATUS result, on one line (as it always was)."""
    from ytmetrics_dagster.surfaces import results

    status = results.Status.model_validate({"home": str(home), "programs": states})
    return json.dumps(status.json_dict())


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def cmd_dev(args) -> int:
    from ytmetrics_dagster.runtime.devserver import run_dev

    return run_dev(port=args.port, demo=not args.no_demo)


# -- the parser ----------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Invalid input: exit 2 with one line on stderr (the usage is one `--help` away)."""

    def error(self, message: str):
        self.exit(
            EXIT_INVALID, f"{self.prog}: error: {clip_message(message)} (see {self.prog} -h)\n"
        )

    def _parse_optional(self, arg_string):
        # A video id may start with "-" (-dQw4w9WgXc): an argument shaped like a video id that
        # is neither an option of this command nor an abbreviation of one is a value, on the
        # CLI as on every other surface (which never read it as an option).
        if (
            arg_string.startswith("-")
            and is_video_id(arg_string)
            and not any(o.startswith(arg_string) for o in self._option_string_actions)
        ):
            return None
        return super()._parse_optional(arg_string)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ytmetrics", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    video_help = "a video id or any YouTube video URL form"

    p = sub.add_parser("register", help="queue videos for tracking (ids or URLs)")
    p.add_argument("inputs", nargs="+", metavar="ID_OR_URL")
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait for each verdict (exit 0 only if all are registered)",
    )
    p.add_argument(
        "--timeout",
        type=_bounded(WAIT_SECONDS),
        default=180,
        metavar="S",
        help=f"with --wait, give up after S seconds ({WAIT_SECONDS.low}-{WAIT_SECONDS.high}, default 180)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("requests", help="registration requests and their verdicts (with reasons)")
    p.add_argument("--status", choices=(*REQUEST_STATUSES, "all"), default="all")
    p.add_argument("--video", type=_video, metavar="ID_OR_URL", help="only this video's requests")
    p.add_argument("--limit", type=_bounded(REQUESTS_LIMIT), default=50)
    p.add_argument("--offset", type=_bounded(OFFSET), default=0)
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_requests)

    p = sub.add_parser("videos", help="list tracked videos")
    p.add_argument(
        "--status", default="active", choices=["active", "unavailable", "removed", "all"]
    )
    p.add_argument("--channel", type=_channel_filter, metavar="CHANNEL_ID")
    p.add_argument("--limit", type=_bounded(LIST_LIMIT), default=100)
    p.add_argument("--offset", type=_bounded(OFFSET), default=0)
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_videos)

    p = sub.add_parser("metrics", help="a video's metrics by hour/day/week/month, with growth")
    p.add_argument("video", type=_video, metavar="VIDEO", help=video_help)
    p.add_argument("--days", type=_bounded(DAYS), default=7)
    p.add_argument("--interval", choices=INTERVALS, default="day")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("analyze", help="a video's performance analysis as JSON (as the MCP tool)")
    p.add_argument("video", type=_video, metavar="VIDEO", help=video_help)
    p.add_argument("--days", type=_bounded(DAYS), default=7)
    p.add_argument("--interval", choices=INTERVALS, default="hour")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("top", help="videos that gained the most views recently")
    p.add_argument("--hours", type=_bounded(TOP_HOURS), default=24)
    p.add_argument("--limit", type=_bounded(TOP_LIMIT), default=10)
    p.add_argument("--channel", type=_channel_filter, metavar="CHANNEL_ID")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_top)

    p = sub.add_parser(
        "remove", help="stop tracking a video (history kept unless --delete-metrics)"
    )
    p.add_argument("video", type=_video, metavar="VIDEO", help=video_help)
    p.add_argument("--delete-metrics", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("quota", help="today's quota: ledger, pacing of this hour, forecast")
    p.add_argument("--json", action="store_true", help="the same figures as JSON")
    p.set_defaults(func=cmd_quota)

    p = sub.add_parser("pin", help="observe a video first when an hour's quota allowance is short")
    p.add_argument("video", type=_video, metavar="VIDEO", help=video_help)
    p.add_argument(
        "--priority", type=_bounded(PRIORITY), default=1, help="higher goes first (default 1)"
    )
    p.set_defaults(func=cmd_pin)

    p = sub.add_parser("unpin", help="remove a video's pin")
    p.add_argument("video", type=_video, metavar="VIDEO", help=video_help)
    p.set_defaults(func=cmd_unpin)

    p = sub.add_parser("track-channel", help="track a channel: its new uploads are registered")
    p.add_argument("channel", metavar="ID_OR_HANDLE_OR_URL")
    p.add_argument(
        "--existing",
        type=_existing,
        default=0,
        metavar="N|all",
        help="also register the latest N existing uploads, or all of them (default 0)",
    )
    p.set_defaults(func=cmd_track_channel)

    p = sub.add_parser("untrack-channel", help="stop polling a channel (its videos stay tracked)")
    p.add_argument("channel", metavar="ID_OR_HANDLE_OR_URL")
    p.set_defaults(func=cmd_untrack_channel)

    p = sub.add_parser("channels", help="list tracked channels")
    p.add_argument("--all", action="store_true", help="include untracked channels")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_channels)

    p = sub.add_parser("alerts", help="alerts not yet acknowledged (--all: every alert); ack ID")
    p.add_argument("action", nargs="?", choices=("ack",), help="ack: acknowledge alert ID")
    p.add_argument("alert_id", nargs="?", metavar="ID")
    p.add_argument("--all", action="store_true", help="include acknowledged alerts")
    p.add_argument("--limit", type=_bounded(ALERTS_LIMIT), default=50)
    p.add_argument("--offset", type=_bounded(OFFSET), default=0)
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("tokens", help="HTTP API tokens: create, revoke, list")
    tokens = p.add_subparsers(dest="action", required=True)
    q = tokens.add_parser("create", help="a new token (shown once; only its hash is stored)")
    q.add_argument("--name", required=True, help="who or what holds it")
    q.add_argument("--read-only", action="store_true", help="may read, not write")
    q.set_defaults(func=cmd_tokens)
    q = tokens.add_parser("revoke", help="revoke a token (by name or id)")
    q.add_argument("token", metavar="NAME_OR_ID")
    q.set_defaults(func=cmd_tokens)
    q = tokens.add_parser("list", help="tokens (never their secrets)")
    q.add_argument("--all", action="store_true", help="include revoked tokens")
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.set_defaults(func=cmd_tokens)

    p = sub.add_parser(
        "db", help="the warehouse database: its URL, migrations, the embedded server"
    )
    db = p.add_subparsers(dest="action", required=True)
    q = db.add_parser("url", help="print its URL for psql/psycopg (libpq form)")
    q.add_argument(
        "--sqlalchemy",
        action="store_true",
        help="the SQLAlchemy form (postgresql+psycopg://) instead",
    )
    q.set_defaults(func=cmd_db_url)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    db.add_parser("stop", help="stop the embedded Postgres").set_defaults(func=cmd_db_stop)
    q = db.add_parser("backup", help="back up the warehouse to a file (pg_dump custom format)")
    q.add_argument("path", metavar="PATH", help="the backup file to write")
    q.set_defaults(func=cmd_db_backup)
    q = db.add_parser("restore", help="restore the warehouse from a backup file (all or nothing)")
    q.add_argument("path", metavar="PATH", help="a file made by `ytmetrics db backup`")
    q.add_argument(
        "--force", action="store_true", help="replace a warehouse that already holds data"
    )
    q.set_defaults(func=cmd_db_restore)

    p = sub.add_parser(
        "demo-history", help="simulator demo: backfill the last N hours on the running Dagster"
    )
    p.add_argument(
        "--hours",
        type=_bounded(DEMO_HOURS),
        default=48,
        help=f"closed hours before the current one ({DEMO_HOURS.low}-{DEMO_HOURS.high}, default 48)",
    )
    p.add_argument(
        "--dagster-url",
        help="the Dagster UI's address (default: that of the running `make run`, whatever its "
        f"PORT; {demo_history.DEFAULT_URL} if none runs)",
    )
    p.set_defaults(func=cmd_demo_history)

    p = sub.add_parser("mcp", help="serve the MCP tools over stdio")
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser(
        "dev",
        help="checks, migrations, then supervisord runs Postgres, Dagster, dashboard, simulator "
        "(what `make run` runs)",
    )
    p.add_argument("--port", type=_bounded(PORT), default=3000)
    p.add_argument("--no-demo", action="store_true", help="do not register demo videos")
    p.set_defaults(func=cmd_dev)

    p = sub.add_parser(
        "status", help="each program `make run` supervises: state, pid, uptime, restarts"
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_status)
    return parser


_parser: argparse.ArgumentParser | None = None


def _shared_parser() -> argparse.ArgumentParser:
    """``build_parser()`` once per process (~3 ms each; tests call ``main`` hundreds of
    times): parsing leaves a parser as it was (each call fills a new namespace), and nothing
    in it depends on the environment or the time."""
    global _parser
    if _parser is None:
        _parser = build_parser()
    return _parser


def _undecodable(argv: list[str]) -> str | None:
    """Arguments that are not valid UTF-8 reach Python as lone surrogates (surrogateescape);
    they can be neither stored nor printed, so they are invalid input."""
    for position, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = ascii(arg.encode("utf-8", "surrogateescape")[:60])
            return f"argument {position} is not valid UTF-8 text: {shown}"
    return None


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a C tool killed by the signal reports


def _quiet_broken_pipe() -> int:
    """The reader went away (`ytmetrics videos | head`): stop quietly, as `cat` would. What
    is still buffered goes to /dev/null, so the interpreter's own flush at exit cannot raise
    a second BrokenPipeError."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    problem = _undecodable(argv)
    if problem:
        print(f"ytmetrics: error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    try:
        args = _shared_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse: -h, or invalid input (already reported)
        return exit_.code if isinstance(exit_.code, int) else EXIT_INVALID
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe surfaces here, not at the interpreter's exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        described = describe_failure(err)
        if described is None:
            if isinstance(err, ValueError):  # configuration, e.g. a malformed database URL
                described = (EXIT_FAILURE, clip_message(str(err)))
            else:
                raise
        code, message = described
        print(f"error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
