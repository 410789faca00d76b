"""`ytmetrics`: register, list, inspect and remove tracked videos; manage the warehouse.

Exit codes: 0 success, 1 runtime failure (e.g. database unreachable), 2 invalid input
(nothing was changed).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ytmetrics_dagster.discovery import UnknownChannelOnYouTube, track_channel
from ytmetrics_dagster.settings import load_settings
from ytmetrics_dagster.warehouse.backup import BackupError, BackupInputError, backup, restore
from ytmetrics_dagster.warehouse.channels import UnknownChannelError, list_channels, untrack_channel
from ytmetrics_dagster.warehouse.embedded import stop_embedded_postgres
from ytmetrics_dagster.warehouse.engine import (
    DatabaseUnavailableError,
    check_connection,
    get_engine,
    safe_url,
    warehouse_url,
)
from ytmetrics_dagster.warehouse.migrate import SchemaOutOfDateError, require_current, upgrade
from ytmetrics_dagster.warehouse.queries import (
    INTERVALS,
    InvalidQueryError,
    analyze_video_performance,
    list_videos,
    top_growing,
    video_metrics,
)
from ytmetrics_dagster.warehouse.quota import Budget, DurableLedger, QuotaBudgetExceeded
from ytmetrics_dagster.warehouse.videos import UnknownVideoError, queue_registrations, remove_video
from ytmetrics_dagster.youtube.errors import YouTubeError
from ytmetrics_dagster.youtube.factory import MissingApiKeyError, build_client
from ytmetrics_dagster.youtube.ids import InvalidVideoInput, parse_channel, parse_video_inputs

EXIT_OK, EXIT_FAILURE, EXIT_INVALID = 0, 1, 2
FORMATS = ("table", "json", "csv")


class UserInputError(Exception):
    pass


def _engine(migrated: bool = True):
    engine = get_engine(warehouse_url())
    check_connection(engine)
    if migrated:
        require_current(engine)
    return engine


def _emit(frame: pd.DataFrame, fmt: str, extra: dict | None = None) -> None:
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", date_format="iso"))
        print(json.dumps({**(extra or {}), "rows": records}, indent=2, default=str))
    elif fmt == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        if extra:
            for key, value in extra.items():
                print(f"{key}: {value}")
        print(frame.to_string(index=False) if len(frame) else "(no rows)")


def cmd_register(args) -> int:
    parsed, errors = parse_video_inputs(args.inputs)
    if errors:
        for message in errors:
            print(f"error: {message}", file=sys.stderr)
        print("nothing was queued", file=sys.stderr)
        return EXIT_INVALID
    ids = queue_registrations(_engine(), parsed, requested_by="cli")
    for (raw, vid), request_id in zip(parsed, ids, strict=True):
        print(f"queued {vid} (request {request_id}) from {raw}")
    print("the registration_requests_sensor applies them within a minute (Dagster must be running)")
    return EXIT_OK


def cmd_videos(args) -> int:
    frame, total = list_videos(
        _engine(), status=args.status, channel_id=args.channel, limit=args.limit, offset=args.offset
    )
    _emit(frame, args.format, {"total": total, "offset": args.offset, "limit": args.limit})
    return EXIT_OK


def cmd_metrics(args) -> int:
    result = video_metrics(_engine(), args.video_id, days=args.days, interval=args.interval)
    extra = {
        "video": {
            k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in result.video.items()
        },
        "period": {"days": result.days, "interval": result.interval},
        "growth": result.growth,
    }
    if args.format == "table":
        video = result.video
        print(
            f"{video['video_id']}  {video['title']}  ({video['channel_title']}, {video['status']})"
        )
        print(f"last {result.days} days by {result.interval}")
        print(result.series.to_string(index=False) if len(result.series) else "(no observations)")
        if result.growth:
            for metric, g in result.growth.items():
                pct = "n/a" if g["percent"] is None else f"{g['percent']:.2f}%"
                absolute = "n/a" if g["absolute"] is None else f"{g['absolute']:+,}"
                print(f"growth {metric}: {absolute} ({pct})")
    else:
        _emit(result.series, args.format, extra if args.format == "json" else None)
    return EXIT_OK


def cmd_remove(args) -> int:
    deleted = remove_video(
        _engine(), args.video_id, delete_metrics=args.delete_metrics, now=datetime.now(UTC)
    )
    print(f"removed {args.video_id} from tracking")
    if args.delete_metrics:
        print(
            f"deleted {deleted['snapshots']} snapshots, {deleted['growth_hourly']} hourly and "
            f"{deleted['growth_daily']} daily growth rows"
        )
    return EXIT_OK


def _existing(value: str) -> int | None:
    if value == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'all' or a number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


def _channel_ref(raw: str):
    try:
        return parse_channel(raw)
    except InvalidVideoInput as err:
        raise UserInputError(str(err)) from None


def cmd_track_channel(args) -> int:
    ref = _channel_ref(args.channel)
    engine = _engine()
    settings = load_settings()
    budget = Budget()
    try:
        client = build_client(
            settings.source,
            settings.youtube_api_key,
            settings.youtube_api_url,
            ledger=DurableLedger(engine, run_id="cli:track-channel"),
        )
    except MissingApiKeyError as err:
        raise UserInputError(str(err)) from None
    try:
        result = track_channel(engine, client, ref, budget=budget, existing=args.existing)
    except UnknownChannelOnYouTube as err:
        raise UserInputError(str(err)) from None
    finally:
        client.close()
    info = result.channel
    print(
        f"tracking {info.channel_id} {info.handle or ''} {info.title!r} (uploads {info.uploads_playlist_id})"
    )
    print(
        f"queued {result.queued} existing upload(s); new uploads are registered by channel_uploads_sensor"
    )
    return EXIT_OK


def cmd_untrack_channel(args) -> int:
    ref = _channel_ref(args.channel)
    channel_id = untrack_channel(_engine(), ref.label, datetime.now(UTC))
    print(
        f"stopped polling {channel_id}; its videos stay tracked (remove them with `ytmetrics remove`)"
    )
    return EXIT_OK


def cmd_channels(args) -> int:
    frame = list_channels(_engine(), include_untracked=args.all)
    _emit(frame, args.format, {"total": len(frame)})
    return EXIT_OK


def cmd_db(args) -> int:
    if args.action == "url":
        print(warehouse_url())
        return EXIT_OK
    if args.action == "stop":
        settings = load_settings()
        if settings.database_url:
            raise UserInputError(
                "YTMETRICS_DATABASE_URL is set: an external database is not stopped here"
            )
        stopped = stop_embedded_postgres(settings.embedded_pgdata)
        print("embedded Postgres stopped" if stopped else "embedded Postgres was not running")
        return EXIT_OK
    if args.action in ("backup", "restore"):
        return _db_backup_or_restore(args)
    engine = _engine(migrated=False)
    revision = upgrade(engine)
    print(f"warehouse at {safe_url(str(engine.url))} is at revision {revision}")
    return EXIT_OK


def _db_backup_or_restore(args) -> int:
    if not args.path:
        raise UserInputError(f"`ytmetrics db {args.action}` needs the backup file's PATH")
    try:
        if args.action == "backup":
            done = backup(Path(args.path))
            print(
                f"backed up the warehouse (revision {done.revision}) to {done.path}: "
                f"{done.size_bytes:,} bytes in {done.seconds:.1f} s"
            )
            return EXIT_OK
        restored = restore(Path(args.path), force=args.force)
    except BackupInputError as err:
        raise UserInputError(str(err)) from None
    print(f"restored {restored.path} in {restored.seconds:.1f} s (revision {restored.revision})")
    if restored.needs_upgrade:
        print(f"the code expects revision {restored.head}: run `ytmetrics db upgrade`")
    return EXIT_OK


def cmd_mcp(args) -> int:
    from ytmetrics_dagster.mcp_server import main as serve

    serve()
    return EXIT_OK


def cmd_top(args) -> int:
    frame = top_growing(_engine(), hours=args.hours, limit=args.limit, channel_id=args.channel)
    _emit(frame, args.format, {"hours": args.hours})
    return EXIT_OK


def cmd_analyze(args) -> int:
    print(
        json.dumps(
            analyze_video_performance(_engine(), args.video_id, args.days, args.interval),
            indent=2,
            default=str,
        )
    )
    return EXIT_OK


def cmd_dev(args) -> int:
    from ytmetrics_dagster.devserver import run_dev

    return run_dev(port=args.port, demo=not args.no_demo)


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ytmetrics", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("register", help="queue videos for tracking (ids or URLs)")
    p.add_argument("inputs", nargs="+", metavar="ID_OR_URL")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("videos", help="list tracked videos")
    p.add_argument(
        "--status", default="active", choices=["active", "unavailable", "removed", "all"]
    )
    p.add_argument("--channel", metavar="CHANNEL_ID")
    p.add_argument("--limit", type=_positive, default=100)
    p.add_argument("--offset", type=_positive, default=0)
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_videos)

    p = sub.add_parser("metrics", help="a video's metrics by hour/day/week/month, with growth")
    p.add_argument("video_id")
    p.add_argument("--days", type=_positive, default=7)
    p.add_argument("--interval", choices=INTERVALS, default="day")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser(
        "remove", help="stop tracking a video (history kept unless --delete-metrics)"
    )
    p.add_argument("video_id")
    p.add_argument("--delete-metrics", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("top", help="videos that gained the most views recently")
    p.add_argument("--hours", type=_positive, default=24)
    p.add_argument("--limit", type=_positive, default=10)
    p.add_argument("--channel", metavar="CHANNEL_ID")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_top)

    p = sub.add_parser("analyze", help="a video's performance analysis as JSON (as the MCP tool)")
    p.add_argument("video_id")
    p.add_argument("--days", type=_positive, default=7)
    p.add_argument("--interval", choices=INTERVALS, default="hour")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("mcp", help="serve the MCP tools over stdio")
    p.set_defaults(func=cmd_mcp)

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

    p = sub.add_parser(
        "db",
        help="warehouse database: print its URL, apply migrations, stop embedded, "
        "back up to / restore from a file (pg_dump custom format)",
    )
    p.add_argument("action", choices=["url", "upgrade", "stop", "backup", "restore"])
    p.add_argument("path", nargs="?", metavar="PATH", help="backup file (backup, restore)")
    p.add_argument(
        "--force",
        action="store_true",
        help="restore: replace a warehouse that already holds data",
    )
    p.set_defaults(func=cmd_db)

    p = sub.add_parser(
        "dev", help="embedded Postgres + simulator + `dagster dev` (what `make run` runs)"
    )
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--no-demo", action="store_true", help="do not register demo videos")
    p.set_defaults(func=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UnknownVideoError, UnknownChannelError, InvalidQueryError, UserInputError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except (
        DatabaseUnavailableError,
        SchemaOutOfDateError,
        QuotaBudgetExceeded,
        YouTubeError,
        ValueError,
        BackupError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
