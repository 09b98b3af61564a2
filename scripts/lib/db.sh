# shellcheck shell=bash
# "Ensures a database", shared by scripts/dev, scripts/test and scripts/chaos. Source it,
# then call
#   ensure_database <database-name>
# which exports DATABASE_URL pointing at an existing database, trying in order:
#   1. $DATABASE_URL, if it answers;
#   2. a Postgres on 127.0.0.1:5432 (user postgres, or the current user);
#   3. a project-local cluster under .pgdata/ (git-ignored) on 127.0.0.1:$MUJIBAK_PG_PORT
#      (default 54329), installing Debian's postgresql first if initdb is missing.
#      initdb refuses root, so as root the cluster runs as the `postgres` system user.
# The scripts talk to Postgres with `psql`: when a server answers but `psql` is missing,
# only Debian's client package is installed. `stop_local_cluster` stops the cluster of 3.

MUJIBAK_PG_PORT="${MUJIBAK_PG_PORT:-54329}"
MUJIBAK_PGDATA="$(pwd)/.pgdata"

_db_log() { echo "db: $*" >&2; }

# _db_redact URL: the URL without its password, for messages.
_db_redact() { echo "$1" | sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#'; }

_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

_apt_install() {
  _db_log "installing Debian's $* (apt-get; needs root or sudo)"
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || { _db_log "could not install $*; install it and run again"; return 1; }
}

# _port_open HOST PORT: something accepts TCP connections there (no client needed).
_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# _host_port URL: "host port" of a postgres URL (defaults 127.0.0.1 5432).
_host_port() {
  local rest="${1#*://}"
  rest="${rest#*@}"
  rest="${rest%%/*}"
  local host="${rest%%:*}" port="5432"
  [ "$rest" != "$host" ] && port="${rest#*:}"
  echo "${host:-127.0.0.1} $port"
}

# _need_psql: psql is on PATH, installing only the client package if it is not.
_need_psql() {
  command -v psql >/dev/null 2>&1 || _apt_install postgresql-client
}

# _db_answers URL: true if a server answers and the credentials work.
_db_answers() {
  # shellcheck disable=SC2046
  _port_open $(_host_port "$1") || return 1
  _need_psql || return 1
  PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

# _db_create SERVER_URL NAME: creates database NAME on the server if it does not exist.
_db_create() {
  local server="$1" name="$2"
  if [ "$(psql "$server" -Atqc "select 1 from pg_database where datname = '$name'")" != "1" ]; then
    psql "$server" -qc "create database \"$name\"" >/dev/null || return 1
    _db_log "created database $name"
  fi
}

_pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

_pg_install() {
  _pg_bindir >/dev/null && command -v psql >/dev/null 2>&1 && return 0
  _apt_install postgresql postgresql-client
  # The package may start a cluster of its own; ours is project-local and independent.
}

# _pg_run CMD...: runs a Postgres server binary as a non-root user.
_pg_run() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The postgres user must reach the data folder: grant traverse (o+x, not read) on any
# ancestor that denies it (a clone under a 0700 mktemp folder, say), and say so.
_pg_allow_traverse() {
  local dir
  dir=$(dirname "$1")
  while [ "$dir" != "/" ]; do
    if ! runuser -u postgres -- test -x "$dir"; then
      _db_log "granting traverse (chmod o+x, not read) on $dir so the postgres user can reach $1"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

_pg_local_cluster() {
  local bindir data="$MUJIBAK_PGDATA/data" log="$MUJIBAK_PGDATA/server.log"
  _pg_install || return 1
  bindir=$(_pg_bindir) || { _db_log "no initdb even after installing postgresql"; return 1; }
  mkdir -p "$MUJIBAK_PGDATA"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$MUJIBAK_PGDATA"
    _pg_allow_traverse "$MUJIBAK_PGDATA"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    _db_log "initialising a project-local cluster in $data"
    _pg_run "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$MUJIBAK_PGDATA/initdb.log" 2>&1 \
      || { _db_log "initdb failed; see $MUJIBAK_PGDATA/initdb.log"; return 1; }
  fi
  if ! _db_answers "postgres://postgres@127.0.0.1:$MUJIBAK_PG_PORT/postgres"; then
    _db_log "starting it on 127.0.0.1:$MUJIBAK_PG_PORT"
    # pg_stat_statements where the package ships it: the bench counts statements per message.
    local preload=""
    [ -f "$bindir/../lib/pg_stat_statements.so" ] && preload="-c shared_preload_libraries=pg_stat_statements"
    _pg_run "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $MUJIBAK_PG_PORT -c unix_socket_directories='' -c fsync=off $preload" start >/dev/null \
      || { _db_log "the cluster did not start; see $log"; return 1; }
  fi
  _db_log "project-local Postgres on 127.0.0.1:$MUJIBAK_PG_PORT (data in .pgdata/); it keeps running after this script: stop it with scripts/dev --stop-db"
  echo "postgres://postgres@127.0.0.1:$MUJIBAK_PG_PORT"
}

# stop_local_cluster: stops the project-local cluster, if it runs (root or not).
stop_local_cluster() {
  local bindir data="$MUJIBAK_PGDATA/data"
  if [ ! -f "$data/postmaster.pid" ]; then
    _db_log "no project-local Postgres is running (nothing in .pgdata/)"
    return 0
  fi
  bindir=$(_pg_bindir) || { _db_log "no pg_ctl found"; return 1; }
  _pg_run "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null && _db_log "stopped the project-local Postgres"
}

ensure_database() {
  local name="$1" server="" candidate
  if [ -n "${DATABASE_URL:-}" ] && _db_answers "$DATABASE_URL"; then
    _db_log "using DATABASE_URL: $(_db_redact "$DATABASE_URL")"
    export DATABASE_URL
    return 0
  fi
  [ -n "${DATABASE_URL:-}" ] && _db_log "DATABASE_URL does not answer; looking for another server"
  for candidate in "postgres://postgres@127.0.0.1:5432" "postgres://$(id -un)@127.0.0.1:5432"; do
    if _db_answers "$candidate/postgres"; then server="$candidate"; break; fi
  done
  if [ -z "$server" ]; then
    server=$(_pg_local_cluster) || return 1
  else
    _db_log "using the Postgres on 127.0.0.1:5432"
  fi
  _db_create "$server/postgres" "$name" || { _db_log "could not create database $name"; return 1; }
  export DATABASE_URL="$server/$name"
  _db_log "database: $(_db_redact "$DATABASE_URL")"
}
