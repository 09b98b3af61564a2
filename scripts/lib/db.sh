# shellcheck shell=bash
# "Ensures a database", shared by scripts/dev and scripts/test. Source it, then call
#   ensure_database <database-name>
# which exports DATABASE_URL pointing at an existing database, trying in order:
#   1. $DATABASE_URL, if it answers;
#   2. a Postgres on 127.0.0.1:5432 (user postgres, or the current user);
#   3. a project-local cluster under .pgdata/ (git-ignored) on 127.0.0.1:$MUJIBAK_PG_PORT
#      (default 54329), installing Debian's postgresql first if initdb is missing.
#      initdb refuses root, so as root the cluster runs as the `postgres` system user.

MUJIBAK_PG_PORT="${MUJIBAK_PG_PORT:-54329}"

_db_log() { echo "db: $*" >&2; }

# _db_answers URL: true if a server answers and the credentials work.
_db_answers() {
  command -v psql >/dev/null 2>&1 || return 1
  PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

# _db_create SERVER_URL NAME: creates database NAME on the server if it does not exist.
_db_create() {
  local server="$1" name="$2"
  if [ "$(psql "$server" -Atqc "select 1 from pg_database where datname = '$name'")" != "1" ]; then
    psql "$server" -qc "create database \"$name\"" >/dev/null
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

_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

_pg_install() {
  _pg_bindir >/dev/null && command -v psql >/dev/null 2>&1 && return 0
  _db_log "installing Debian's postgresql (no local server and no initdb found)"
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
  # The package may start a cluster of its own; ours is project-local and independent.
}

# _pg_run CMD...: runs a Postgres server binary as a non-root user.
_pg_run() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The postgres user must reach the data folder: grant traverse (o+x, not read) on any
# ancestor that denies it (a clone under a 0700 mktemp folder, say).
_pg_allow_traverse() {
  local dir
  dir=$(dirname "$1")
  while [ "$dir" != "/" ]; do
    if ! runuser -u postgres -- test -x "$dir"; then
      _db_log "granting traverse (o+x) on $dir so the postgres user can reach .pgdata"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

_pg_local_cluster() {
  local root bindir data log
  root="$(pwd)/.pgdata"
  data="$root/data"
  log="$root/server.log"
  _pg_install
  bindir=$(_pg_bindir) || { _db_log "no initdb after install"; return 1; }
  mkdir -p "$root"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$root"
    _pg_allow_traverse "$root"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    _db_log "initialising a project-local cluster in $data"
    _pg_run "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! _db_answers "postgres://postgres@127.0.0.1:$MUJIBAK_PG_PORT/postgres"; then
    _db_log "starting it on 127.0.0.1:$MUJIBAK_PG_PORT"
    _pg_run "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $MUJIBAK_PG_PORT -c unix_socket_directories='' -c fsync=off" start >/dev/null
  fi
  echo "postgres://postgres@127.0.0.1:$MUJIBAK_PG_PORT"
}

ensure_database() {
  local name="$1" server candidate
  if [ -n "${DATABASE_URL:-}" ] && _db_answers "$DATABASE_URL"; then
    _db_log "using DATABASE_URL"
    export DATABASE_URL
    return 0
  fi
  [ -n "${DATABASE_URL:-}" ] && _db_log "DATABASE_URL does not answer; looking for another server"
  server=""
  for candidate in "postgres://postgres@127.0.0.1:5432" "postgres://$(id -un)@127.0.0.1:5432"; do
    if _db_answers "$candidate/postgres"; then server="$candidate"; break; fi
  done
  if [ -z "$server" ]; then
    server=$(_pg_local_cluster) || return 1
  else
    _db_log "using the Postgres on 127.0.0.1:5432"
  fi
  _db_create "$server/postgres" "$name"
  export DATABASE_URL="$server/$name"
}
