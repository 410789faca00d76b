"""Start one supervised program: ``python -m ytmetrics_dagster.runtime.launch [options] -- argv``.

supervisord starts a program and stops it with a signal, but if supervisord itself is killed
(SIGKILL of `make run`) its programs would live on as orphans holding the ports and the data
directory. So each program asks the kernel for a signal when its parent dies (Linux's
PR_SET_PDEATHSIG, kept across exec) before it becomes the real program. With
``--wait-for-warehouse`` it first waits for the warehouse to answer, logging a line when it starts
waiting and one when it answers (never a line per attempt), so a program started together with
Postgres does not fail and back off for nothing.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int) -> None:
    """Linux: ``signum`` is delivered when the parent (supervisord) dies; elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        return
    if os.getppid() != parent:  # the parent died before the request was in place
        os.kill(os.getpid(), signum)


def become(user: str) -> None:
    """Drop root for ``user`` (Postgres refuses to run as root). Done here rather than by
    supervisord's ``user=`` so that this interpreter need not be readable by ``user``; and
    before the parent-death request, which a change of user would clear."""
    import pwd

    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)


def wait_for_warehouse(url: str, log=print) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    from ytmetrics_dagster.warehouse.engine import safe_url

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    waited_since = None
    while True:
        try:
            psycopg.connect(libpq, connect_timeout=3).close()
        except psycopg.OperationalError as err:
            if waited_since is None:
                waited_since = time.monotonic()
                reason = str(err).strip().splitlines()[0] if str(err).strip() else "no answer"
                log(f"waiting for the warehouse at {safe_url(url)} ({reason})")
            time.sleep(0.5)
            continue
        if waited_since is not None:
            log(f"the warehouse answers after {time.monotonic() - waited_since:.1f} s")
        return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ytmetrics_dagster.runtime.launch")
    parser.add_argument("--parent-death", default="TERM", help="signal name, e.g. INT")
    parser.add_argument("--wait-for-warehouse", action="store_true")
    parser.add_argument("--user", help="run as this user (when started as root)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    if args.user and os.geteuid() == 0:
        become(args.user)
    die_with_parent(signal.Signals["SIG" + args.parent_death.upper()])
    if args.wait_for_warehouse:
        from ytmetrics_dagster.settings import load_settings

        url = load_settings().database_url
        if url:
            wait_for_warehouse(url, log=lambda m: print(m, flush=True))
    sys.stdout.flush()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
