#!/bin/sh
# prometheus.yml names `make run`'s dashboard port (3100); compose's is YTMETRICS_DASHBOARD_PORT.
set -eu
sed "s/127.0.0.1:3100/127.0.0.1:${YTMETRICS_DASHBOARD_PORT:-3100}/" \
    /etc/ytmetrics/prometheus.yml >/tmp/prometheus.yml
exec /usr/bin/prometheus --config.file=/tmp/prometheus.yml \
    --web.listen-address="127.0.0.1:${YTMETRICS_PROMETHEUS_PORT:-9090}" \
    --storage.tsdb.path=/var/lib/prometheus/metrics2 "$@"
