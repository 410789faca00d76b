"""How `make run` runs: supervisord owns every long-lived process (stack.py writes its
configuration, supervisord.py runs it and stops what its programs leave behind), launch.py
starts each program, watchdog.py turns supervisord's events into alerts and restarts what
supervisord gave up on, status.py reads its state."""
