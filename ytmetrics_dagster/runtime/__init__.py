"""How `make run` runs: supervisord owns every long-lived process (stack.py writes its
configuration), launch.py starts each program, watchdog.py turns supervisord's events into
alerts and restarts what supervisord gave up on, status.py reads its state."""
