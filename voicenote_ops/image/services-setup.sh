#!/bin/sh
# Runs inside the debootstrapped root file system (chroot) before it becomes the compose
# stack's PostgreSQL and Redis image (voicenote_ops/image/services.py): the two entry points,
# and nothing that differs between two builds of the same packages.
set -eu
install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data

cat > /usr/local/bin/voicenote-postgres <<'SCRIPT'
#!/bin/sh
# PostgreSQL for the compose stack, as the postgres user. On the first start (an empty data
# volume) a cluster whose role and database `app` take their password from $POSTGRES_PASSWORD,
# read here, never put on a command line; then the server in the foreground.
set -eu
bin=$(echo /usr/lib/postgresql/*/bin)
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
    "$bin/initdb" --pgdata "$data" --username postgres --encoding UTF8 --locale C.UTF-8 \
        --auth-local peer --auth-host scram-sha-256 >/dev/null
    echo "host all all all scram-sha-256" >> "$data/pg_hba.conf"
    "$bin/pg_ctl" --pgdata "$data" --wait --silent \
        --options "-c listen_addresses='' -c unix_socket_directories=/tmp" start
    "$bin/psql" --host /tmp --dbname postgres --quiet --set ON_ERROR_STOP=1 <<SQL
CREATE ROLE app LOGIN PASSWORD '$POSTGRES_PASSWORD';
CREATE DATABASE app OWNER app;
SQL
    "$bin/pg_ctl" --pgdata "$data" --wait --silent stop
fi
exec "$bin/postgres" -D "$data" -c listen_addresses='*' -c unix_socket_directories=/tmp
SCRIPT

cat > /usr/local/bin/voicenote-redis <<'SCRIPT'
#!/bin/sh
# Redis for the compose stack, as the redis user, with $REDIS_PASSWORD as requirepass: written
# to a file only this user reads, never put on a command line.
set -eu
umask 077
config=/tmp/redis.conf
printf 'bind 0.0.0.0\nport 6379\ndir /var/lib/redis\nrequirepass %s\n' "$REDIS_PASSWORD" > "$config"
exec redis-server "$config"
SCRIPT
chmod 0755 /usr/local/bin/voicenote-postgres /usr/local/bin/voicenote-redis

: > /etc/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/ldconfig/aux-cache /var/cache/debconf/*-old \
    /var/lib/dpkg/*-old /etc/*-
find /var/log -type f -delete
