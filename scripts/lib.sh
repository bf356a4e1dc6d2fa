# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/fuzz-api and .ci/run. Source it; don't run it.
#
#   section TITLE          print a loud section header
#   info/warn MSG          print a tagged line on stderr
#   die MSG                print an error and exit 1
#   on_exit CMD            register a cleanup command (run in reverse order on exit)
#   port_in_use PORT       true when something accepts TCP on 127.0.0.1:PORT
#   free_port START        print the first port >= START that nothing listens on
#   is_root                true when running as uid 0
#   apt_install PKG...     apt-get install as root (noninteractive; updates lists on failure)
#   pg_bin_dir             print the directory holding initdb/pg_ctl, or fail
#   pg_usable URL          true when URL (base, no database) accepts a superuser-ish login
#   start_throwaway_pg     start a throwaway PostgreSQL cluster; sets AUTHIO_TEST_PG
#   nats_jetstream_at H P  true when a NATS server with JetStream answers at H:P
#   start_throwaway_nats   start a throwaway nats-server -js; sets AUTHIO_TEST_NATS
#   count_nextest LOG      print "PASSED FAILED SKIPPED" from a cargo nextest run log
#   count_cargo_test LOG   print "PASSED FAILED IGNORED" summed over a cargo test log
#   ensure_saml_build_deps make sure libxmlsec1-dev, libclang-dev and pkg-config are here
#                          (installing them as root), or fail
#   AUTHIO_FEATURES        the cargo features of every server build the scripts make (saml)

if [[ -n "${_AUTHIO_LIB_SH:-}" ]]; then
    return 0
fi
_AUTHIO_LIB_SH=1

AUTHIO_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AUTHIO_REPO_ROOT

section() {
    printf '\n==================================================================\n' >&2
    printf '== %s\n' "$*" >&2
    printf '==================================================================\n' >&2
}

info() { printf '[%s] %s\n' "${_AUTHIO_TAG:-authio}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${_AUTHIO_TAG:-authio}" "$*" >&2; }
die() {
    printf '\n[%s] ERROR: %s\n\n' "${_AUTHIO_TAG:-authio}" "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- cleanup on exit
_AUTHIO_CLEANUPS=()
_authio_run_cleanups() {
    local status=$?
    local i
    set +e
    for ((i = ${#_AUTHIO_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${_AUTHIO_CLEANUPS[i]}"
    done
    _AUTHIO_CLEANUPS=()
    exit "$status"
}
on_exit() {
    _AUTHIO_CLEANUPS+=("$*")
}
trap _authio_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- small utilities
is_root() { [[ "$(id -u)" == 0 ]]; }

port_in_use() {
    # A refused connection fails at once; `timeout` bounds a filtered one.
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

free_port() {
    local port=$1
    local last=$((port + 200))
    while ((port < last)); do
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
    done
    return 1
}

apt_install() {
    is_root || return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    info "apt-get install -y $*"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; then
        info "install failed; running apt-get update and retrying"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2 || return 1
    fi
}

# Every build of the server the scripts make has SAML (api's `saml` feature: samael over
# libxmlsec1), and the tests always do (a dev-dependency), so the same binary serves all.
AUTHIO_FEATURES="saml"
export AUTHIO_FEATURES

# SAML's C build: libxmlsec1 (pkg-config xmlsec1, xmlsec1-config) and libclang for
# bindgen. A fresh Debian machine has neither; install them when root, else fail loudly.
ensure_saml_build_deps() {
    local missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    if ! command -v xmlsec1-config >/dev/null 2>&1 || ! pkg-config --exists xmlsec1 2>/dev/null; then
        missing+=(libxmlsec1-dev)
    fi
    # libclang itself (bindgen loads it), not libclang-cpp, which other packages bring.
    if ! compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null &&
        ! compgen -G "/usr/lib/*/libclang.so*" >/dev/null &&
        ! compgen -G "/usr/lib/*/libclang-[0-9]*.so*" >/dev/null; then
        missing+=(libclang-dev)
    fi
    if ! pkg-config --exists openssl 2>/dev/null; then
        missing+=(libssl-dev)
    fi
    ((${#missing[@]} == 0)) && return 0
    if is_root; then
        info "SAML's build needs ${missing[*]}; installing Debian's packages"
        apt_install "${missing[@]}" || die "could not install ${missing[*]} (apt-get install failed)"
    else
        die "SAML's build needs Debian's ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
    fi
}

# Run a command as the unprivileged owner of throwaway services when we are root
# (PostgreSQL refuses to run as root).
_AUTHIO_SVC_USER=""
_svc_user() {
    if [[ -z "$_AUTHIO_SVC_USER" ]]; then
        if id -u postgres >/dev/null 2>&1; then
            _AUTHIO_SVC_USER=postgres
        else
            _AUTHIO_SVC_USER=nobody
        fi
    fi
    echo "$_AUTHIO_SVC_USER"
}
as_svc_user() {
    if is_root; then
        runuser -u "$(_svc_user)" -- "$@"
    else
        "$@"
    fi
}

# A temp dir the service user can own and reach (so not under root's 0700 TMPDIR).
svc_tempdir() {
    local prefix=$1 dir
    if is_root; then
        dir="$(mktemp -d "/tmp/${prefix}.XXXXXX")"
        chown "$(_svc_user)": "$dir"
    else
        dir="$(mktemp -d "${TMPDIR:-/tmp}/${prefix}.XXXXXX")"
    fi
    echo "$dir"
}

# ---------------------------------------------------------------- PostgreSQL
pg_bin_dir() {
    local d
    # Newest major version first; the paths are /usr/lib/postgresql/<digits>/bin.
    # shellcheck disable=SC2012
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
            echo "$d"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

# pg_usable URL: URL is a base like postgres://user@host:port (no database).
# With psql: log in to the `postgres` database and check the role may CREATE DATABASE.
# Without psql: pg_isready, else a bare TCP probe.
pg_usable() {
    local base=$1 hostport host port
    hostport="${base#*://}"
    hostport="${hostport#*@}"
    hostport="${hostport%%/*}"
    host="${hostport%:*}"
    port="${hostport##*:}"
    [[ "$port" == "$hostport" ]] && port=5432
    if command -v psql >/dev/null 2>&1; then
        local out
        out="$(PGCONNECT_TIMEOUT=5 psql -w -X -q -A -t -d "$base/postgres" \
            -c 'SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user' 2>&1)" || {
            info "psql could not log in at $base/postgres: ${out//$'\n'/ }"
            return 1
        }
        if [[ "$out" != "t" ]]; then
            info "role at $base may not CREATE DATABASE (psql said: $out)"
            return 1
        fi
        return 0
    fi
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$host" -p "$port" -t 5
        return
    fi
    timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

start_throwaway_pg() {
    local bindir tmp port
    if ! bindir="$(pg_bin_dir)"; then
        if is_root; then
            info "PostgreSQL server binaries not found; installing Debian's postgresql"
            apt_install postgresql || die "could not install PostgreSQL (apt-get install postgresql failed)"
            bindir="$(pg_bin_dir)" || die "postgresql installed but initdb/pg_ctl still not found"
        else
            die "PostgreSQL is needed: nothing usable at 127.0.0.1:5432, no initdb/pg_ctl, and not root to install it.
  Either start PostgreSQL (trust auth for postgres@127.0.0.1), set AUTHIO_TEST_PG, or install the postgresql package."
        fi
    fi
    tmp="$(svc_tempdir authio-pg)"
    on_exit "rm -rf '$tmp'"
    port="$(free_port "${AUTHIO_THROWAWAY_PG_PORT:-55432}")" || die "no free port for PostgreSQL"
    info "starting a throwaway PostgreSQL ($bindir) on 127.0.0.1:$port, data in $tmp"
    (cd "$tmp" && as_svc_user "$bindir/initdb" -D "$tmp/data" -A trust -U postgres -E UTF8 --locale=C \
        --no-sync >"$tmp/initdb.log" 2>&1) || {
        cat "$tmp/initdb.log" >&2
        die "initdb failed"
    }
    # Register the stop before starting so an interrupted start is still cleaned up.
    on_exit "(cd '$tmp' && as_svc_user '$bindir/pg_ctl' -D '$tmp/data' -m immediate -w stop >/dev/null 2>&1)"
    (cd "$tmp" && as_svc_user "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -w -t 60 \
        -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null) || {
        tail -n 50 "$tmp/postgres.log" >&2 || true
        die "throwaway PostgreSQL did not start"
    }
    AUTHIO_TEST_PG="postgres://postgres@127.0.0.1:$port"
    export AUTHIO_TEST_PG
    AUTHIO_THROWAWAY_PG_DIR="$tmp"
    export AUTHIO_THROWAWAY_PG_DIR
    if ! pg_usable "$AUTHIO_TEST_PG"; then
        tail -n 50 "$tmp/postgres.log" >&2 || true
        die "throwaway PostgreSQL started but does not accept postgres@127.0.0.1:$port"
    fi
    info "throwaway PostgreSQL ready: $AUTHIO_TEST_PG"
}

# ---------------------------------------------------------------- NATS
# A NATS server greets every client with `INFO {json}`; JetStream shows as "jetstream":true.
nats_jetstream_at() {
    local host=$1 port=$2 line
    line="$(timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port && IFS= read -r -t 2 l <&3 && printf '%s' \"\$l\"" 2>/dev/null)" || true
    [[ "$line" == INFO* ]] || return 1
    [[ "$line" == *'"jetstream":true'* ]] || return 2
    return 0
}

start_throwaway_nats() {
    local bin tmp port pid i
    bin="$(command -v nats-server || true)"
    if [[ -z "$bin" ]]; then
        if is_root; then
            info "nats-server not found; installing Debian's nats-server"
            apt_install nats-server || return 1
            bin="$(command -v nats-server || true)"
            [[ -n "$bin" ]] || bin=/usr/sbin/nats-server
            [[ -x "$bin" ]] || return 1
        else
            return 1
        fi
    fi
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/authio-nats.XXXXXX")"
    on_exit "rm -rf '$tmp'"
    port="$(free_port "${AUTHIO_THROWAWAY_NATS_PORT:-54222}")" || return 1
    info "starting a throwaway nats-server -js on 127.0.0.1:$port, store in $tmp"
    "$bin" -js -a 127.0.0.1 -p "$port" -sd "$tmp/js" -l "$tmp/nats.log" >/dev/null 2>&1 &
    pid=$!
    on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
    for ((i = 0; i < 100; i++)); do
        if nats_jetstream_at 127.0.0.1 "$port"; then
            AUTHIO_TEST_NATS="nats://127.0.0.1:$port"
            export AUTHIO_TEST_NATS
            info "throwaway NATS ready: $AUTHIO_TEST_NATS"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$tmp/nats.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done
    tail -n 30 "$tmp/nats.log" >&2 || true
    return 1
}

# ---------------------------------------------------------------- test counts
_strip_ansi() { sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$1"; }

# Nextest's closing line: "Summary [ 1.2s] 12 tests run: 10 passed, 1 failed, 1 timed out, 0 skipped".
count_nextest() {
    _strip_ansi "$1" | awk '
        /Summary \[/ { line = $0 }
        END {
            p = f = s = 0
            n = split(line, w, /[ ,:]+/)
            for (i = 1; i < n; i++) {
                if (w[i] !~ /^[0-9]+$/) continue
                if (w[i + 1] == "passed") p = w[i]
                else if (w[i + 1] == "failed") f += w[i]
                else if (w[i + 1] == "timed" && w[i + 2] == "out") f += w[i]
                else if (w[i + 1] == "skipped") s = w[i]
            }
            print p + 0, f + 0, s + 0
        }'
}

# cargo test prints one "test result: ok. 3 passed; 0 failed; 1 ignored; ..." per binary.
count_cargo_test() {
    _strip_ansi "$1" | awk '
        /^test result:/ {
            n = split($0, w, /[ ;.:]+/)
            for (i = 1; i < n; i++) {
                if (w[i] !~ /^[0-9]+$/) continue
                if (w[i + 1] == "passed") p += w[i]
                else if (w[i + 1] == "failed") f += w[i]
                else if (w[i + 1] == "ignored") g += w[i]
            }
        }
        END { print p + 0, f + 0, g + 0 }'
}
