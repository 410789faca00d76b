# PostgreSQL from Debian's packages on the local base (build.sh), for machines that cannot pull
# the postgres image from Docker Hub. It honours what compose gives the official image:
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, *.sql in /docker-entrypoint-initdb.d (run once,
# on an empty data directory) and a command of postgres arguments.
ARG BASE_IMAGE=ytmetrics-base:bookworm
FROM ${BASE_IMAGE}

RUN mkdir -p /etc/postgresql-common \
    && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data

COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
