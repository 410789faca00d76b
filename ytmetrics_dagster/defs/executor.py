"""The executor of every job of this code location."""

import dagster as dg


@dg.definitions
def executor() -> dg.Definitions:
    # Every job of this code location runs its steps in the run worker's own process. The steps
    # are a few seconds of set-based SQL and pooled HTTP (already concurrent inside the step), and
    # each follows the previous one; a process per step (the multiprocess default) cost ~10 s of
    # start-up per hourly run, and a step process orphaned by a dead run worker would hold on to
    # its pool slot. Pools, retries and asset checks work the same in process.
    return dg.Definitions(executor=dg.in_process_executor)
