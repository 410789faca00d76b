"""supervisord for `make run`, and nothing of the stack outlives it: what `ytmetrics dev` execs
(``python -m ytmetrics_dagster.runtime.supervisord -n -c CONF``, stack.supervisord_argv).

supervisord stops a program by signalling its process group and then waits for the program's
own process only: once that has exited the program counts as stopped, and SIGKILL (killasgroup)
is sent only to a program that outlives its stopwaitsecs. A descendant that outlives its program
is never waited for: the `dagster api grpc` child of `dagster code-server start` when the proxy
exits before it (it then lives until its heartbeat times out, 30 s or more), anything started in
a session of its own, a daemonized helper. It would outlive `make run`, holding the data
directory and the database connections it had.

So this process first makes itself the child subreaper of everything below it (Linux's
PR_SET_CHILD_SUBREAPER): a process whose parent dies is re-parented to it
rather than to init, so what the programs leave behind stays below it (while supervisord runs,
it reaps those that end by themselves: "reaped unknown pid" in its log). It then runs supervisord
in this very process (the pid `make run` started, that `supervisord.pid` names), and once
supervisord has stopped every program, it sweeps: every process still below it gets SIGINT (the
programs' stop signal), then SIGTERM, then SIGKILL, ``SWEEP_STEP_SECONDS`` apart, each one is
reaped, and one line says what was stopped. Only then does the process exit, still holding the
data directory's lock: when `make run` has ended, nothing of it runs. (Should supervisord itself
fail, the sweep stops what it left running too, but without supervisord's order or grace: every
process at once, 1 s per signal, so an embedded Postgres caught there may need crash recovery
on its next start.) A leftover that ignores SIGINT and SIGTERM adds about 2 s to a stop.

Why here, and not closer to the grpc child: Dagster starts that child itself, so no launcher of
ours can give it a parent-death signal (the request does not survive fork, and is tied to the
thread that forked); Dagster has no option to end it with its proxy, and supervisord none to wait
for a program's whole group; a wrapper process around each program would change the pids
supervisord reports and signals. One subreaper at the top covers every kind of leftover at once.

A SIGKILL of this process leaves no time for a sweep: each program then gets the kernel's
parent-death signal (runtime/launch.py), and a process they leave behind is stopped by the next
`make run` on the data directory (stack.stop_leftovers) or ends by itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence

import psutil

PR_SET_CHILD_SUBREAPER = 36
# what is left has usually had its program's stop signal already (the group's): a short grace
# per signal keeps a stop of everything under the 10 s promised
SWEEP_STEP_SECONDS = 1.0
SWEEP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
KILL_WAIT_SECONDS = 5.0


def become_subreaper() -> bool:
    """Linux: orphans below this process become its children; elsewhere nothing (False)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _reap() -> None:
    """Collect every child that has ended (adopted orphans included): no zombie stays."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _running_below(me: psutil.Process) -> list[psutil.Process]:
    found = []
    with contextlib.suppress(psutil.Error):
        for process in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
    return found


def _describe(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline()) or process.name()
    except psutil.Error:
        command = "?"
    if len(command) > 100:
        command = command[:97] + "..."
    return f"{process.pid} ({command})"


def stop_escalating(
    find: Callable[[], list[psutil.Process]], steps: Sequence[tuple[signal.Signals, float]]
) -> dict[int, str]:
    """Stop what ``find()`` returns: each step's signal to every process found (asked again while
    it waits, so one that appears meanwhile gets the signal too), then up to its seconds for
    them to be gone, then the next step. Returns what it signalled (pid: command line)."""
    stopped: dict[int, str] = {}
    for signum, wait in steps:
        signalled: set[int] = set()
        deadline = time.monotonic() + wait
        while True:
            running = find()
            if not running:
                return stopped
            if time.monotonic() >= deadline:
                break
            for process in running:
                if process.pid in signalled:
                    continue
                stopped.setdefault(process.pid, _describe(process))
                with contextlib.suppress(psutil.Error):
                    process.send_signal(signum)
                signalled.add(process.pid)
            time.sleep(0.05)
    return stopped


def sweep(step: float = SWEEP_STEP_SECONDS, kill_wait: float = KILL_WAIT_SECONDS) -> dict[int, str]:
    """Stop and reap every process still below this one: SIGINT, SIGTERM ``step`` later, SIGKILL
    ``step`` after that. Returns what it stopped (pid: command line)."""
    me = psutil.Process()

    def running_below() -> list[psutil.Process]:
        _reap()
        return _running_below(me)

    waits = [step] * (len(SWEEP_SIGNALS) - 1) + [kill_wait]
    stopped = stop_escalating(running_below, list(zip(SWEEP_SIGNALS, waits, strict=True)))
    _reap()
    return stopped


def main(argv: list[str] | None = None) -> int:
    from supervisor import supervisord

    if not become_subreaper():
        print(
            "warning: cannot become the stack's child subreaper (Linux only): a process the "
            "programs leave behind may outlive make run",
            file=sys.stderr,
            flush=True,
        )
    try:
        supervisord.main(sys.argv[1:] if argv is None else argv)
    finally:
        # supervisord's signal handlers stay installed (they only record a signal): a second
        # Ctrl-C does not cut the sweep short, and the sweep is bounded
        stopped = sweep()
        if stopped:
            count = f"{len(stopped)} process" + ("es" if len(stopped) > 1 else "")
            # a terminal gone (make run | tee, both interrupted) must not turn supervisord's own
            # exit status into a traceback
            with contextlib.suppress(OSError):
                print(
                    f"stopped {count} the programs left running: " + ", ".join(stopped.values()),
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
