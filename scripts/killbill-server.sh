#!/usr/bin/env bash
# Local Kill Bill 0.24.x server for the real-server tests: Tomcat 9 + embedded H2, on 127.0.0.1.
#
#   scripts/killbill-server.sh start    build/download what is missing, start, wait for the healthcheck,
#                                       create the test tenant and upload scripts/killbill/catalog.xml
#   scripts/killbill-server.sh stop     stop it (SIGTERM, then SIGKILL after a grace period) and kill leftovers
#   scripts/killbill-server.sh status   running or not (exit 0 when running and healthy, 1 otherwise)
#   scripts/killbill-server.sh env      print the BILLING_TEST_KILLBILL_* exports for the tests
#   scripts/killbill-server.sh prepare  only download and build (no server)
#
# Settings (environment):
#   KILLBILL_PORT           HTTP port on 127.0.0.1 (default 8080)
#   KILLBILL_CACHE_DIR      downloads, Maven repository and built war
#                           (default ${XDG_CACHE_HOME:-$HOME/.cache}/billing-killbill)
#   KILLBILL_RUNTIME_DIR    Tomcat base, H2 files, pid and log (default ${TMPDIR:-/tmp}/billing-killbill-$KILLBILL_PORT)
#   KILLBILL_START_TIMEOUT  seconds to wait for GET /1.0/healthcheck (default 300)
#   KILLBILL_STOP_TIMEOUT   seconds to wait for a clean stop before SIGKILL (default 60)
#   KILLBILL_RMI_PORT       RMI registry of Kill Bill's JNDI manager (default: first free port from KILLBILL_PORT+1000)
#   KILLBILL_H2_WEB_PORT    H2 web console (default: first free port from KILLBILL_PORT+2000)
#   KILLBILL_JAVA_OPTS      extra JVM options
#   KILLBILL_WAR            use this war instead of building one (e.g. an official killbill-profiles-killbill war)
#   KILLBILL_VERSION        Kill Bill module version to assemble (default 0.24.19)
#   KILLBILL_TOMCAT_VERSION Tomcat 9 version (default 9.0.117)
#   KILLBILL_USERNAME / KILLBILL_PASSWORD / KILLBILL_API_KEY / KILLBILL_API_SECRET
#                           credentials (default admin / password / bob / lazar)
#
# See scripts/killbill/README.md for why the war is assembled from the module jars.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KB_DIR="$SCRIPT_DIR/killbill"

PORT="${KILLBILL_PORT:-8080}"
CACHE_DIR="${KILLBILL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/billing-killbill}"
RUNTIME_DIR="${KILLBILL_RUNTIME_DIR:-${TMPDIR:-/tmp}/billing-killbill-$PORT}"
START_TIMEOUT="${KILLBILL_START_TIMEOUT:-300}"
STOP_TIMEOUT="${KILLBILL_STOP_TIMEOUT:-60}"
KB_VERSION="${KILLBILL_VERSION:-0.24.19}"
TOMCAT_VERSION="${KILLBILL_TOMCAT_VERSION:-9.0.117}"
KB_USER="${KILLBILL_USERNAME:-admin}"
KB_PASSWORD="${KILLBILL_PASSWORD:-password}"
API_KEY="${KILLBILL_API_KEY:-bob}"
API_SECRET="${KILLBILL_API_SECRET:-lazar}"

# The killbill parent pom of KB_VERSION may be missing from the Maven repository while the module jars
# are there; then a stand-in is made from this release's parent pom (see README.md).
KB_PARENT_FALLBACK="0.24.16"
KB_PLATFORM_VERSION="0.41.21"
KB_COMMONS_VERSION="0.26.15"
SHIRO_VERSION="1.13.0"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

BASE_URL="http://127.0.0.1:$PORT"
M2="$CACHE_DIR/m2"
PID_FILE="$RUNTIME_DIR/killbill.pid"
LOG_FILE="$RUNTIME_DIR/killbill.log"
CATALINA_BASE_DIR="$RUNTIME_DIR/tomcat"

log() { printf '[killbill-server] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

show_log_tail() {
    if [[ -f "$LOG_FILE" ]]; then
        log "last 80 lines of $LOG_FILE:"
        tail -n 80 "$LOG_FILE" >&2 || true
    fi
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not installed"; }

mvn_quiet() {
    # Maven output goes to the build log; it is shown if the command fails.
    local mlog="$CACHE_DIR/maven.log"
    if ! mvn -B -Dmaven.repo.local="$M2" "$@" >>"$mlog" 2>&1; then
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------------------
# Downloads and build (all cached under CACHE_DIR)

tomcat_home() { printf '%s/apache-tomcat-%s' "$CACHE_DIR" "$TOMCAT_VERSION"; }

ensure_tomcat() {
    local home tarball
    home="$(tomcat_home)"
    [[ -x "$home/bin/catalina.sh" ]] && return 0
    tarball="$CACHE_DIR/tomcat-$TOMCAT_VERSION.tar.gz"
    if [[ ! -s "$tarball" ]]; then
        log "downloading Tomcat $TOMCAT_VERSION (org.apache.tomcat:tomcat:tar.gz) with Maven"
        mvn_quiet "$DEP_PLUGIN:copy" -Dartifact="org.apache.tomcat:tomcat:$TOMCAT_VERSION:tar.gz" \
            -DoutputDirectory="$CACHE_DIR" || { tail -n 40 "$CACHE_DIR/maven.log" >&2; die "cannot download Tomcat $TOMCAT_VERSION"; }
    fi
    local tmp="$CACHE_DIR/.tomcat-extract.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -xzf "$tarball" -C "$tmp"
    rm -rf "$home"
    mv "$tmp/apache-tomcat-$TOMCAT_VERSION" "$home"
    rm -rf "$tmp"
}

# The module poms name org.kill-bill.billing:killbill:$KB_VERSION as their parent. Fetch it; when the
# repository lacks it, write a stand-in into the private local repository: the fallback release's parent
# pom with its version changed and the platform/commons/shiro versions of $KB_VERSION.
ensure_parent_pom() {
    local dir="$M2/org/kill-bill/billing/killbill/$KB_VERSION"
    local pom="$dir/killbill-$KB_VERSION.pom"
    [[ -s "$pom" ]] && return 0
    if mvn_quiet "$DEP_PLUGIN:get" -Dartifact="org.kill-bill.billing:killbill:$KB_VERSION:pom" -Dtransitive=false; then
        [[ -s "$pom" ]] && return 0
    fi
    log "org.kill-bill.billing:killbill:$KB_VERSION:pom is not in the Maven repository; using a stand-in made from $KB_PARENT_FALLBACK"
    mvn_quiet "$DEP_PLUGIN:get" -Dartifact="org.kill-bill.billing:killbill:$KB_PARENT_FALLBACK:pom" -Dtransitive=false \
        || { tail -n 40 "$CACHE_DIR/maven.log" >&2; die "cannot download org.kill-bill.billing:killbill:$KB_PARENT_FALLBACK:pom"; }
    local src="$M2/org/kill-bill/billing/killbill/$KB_PARENT_FALLBACK/killbill-$KB_PARENT_FALLBACK.pom"
    [[ -s "$src" ]] || die "missing $src"
    mkdir -p "$dir"
    rm -f "$dir"/*.lastUpdated "$dir/_remote.repositories"
    # First <version> after </parent> is the project version.
    awk -v from="<version>$KB_PARENT_FALLBACK</version>" -v to="<version>$KB_VERSION</version>" \
        -v props="<killbill-platform.version>$KB_PLATFORM_VERSION</killbill-platform.version><killbill-commons.version>$KB_COMMONS_VERSION</killbill-commons.version><shiro.version>$SHIRO_VERSION</shiro.version>" '
        /<\/parent>/ { after_parent = 1 }
        after_parent && !done_version && index($0, from) { sub(from, to); done_version = 1 }
        { print }
        /<properties>/ && !done_props { print "        " props; done_props = 1 }
    ' "$src" >"$pom.tmp"
    grep -q "<version>$KB_VERSION</version>" "$pom.tmp" || die "could not write the stand-in parent pom"
    mv "$pom.tmp" "$pom"
}

sources_hash() {
    (cd "$KB_DIR/server" && find . -type f ! -path './target/*' -print0 | sort -z | xargs -0 sha1sum) \
        | { cat; printf '%s %s %s %s\n' "$KB_VERSION" "$KB_PLATFORM_VERSION" "$KB_COMMONS_VERSION" "$SHIRO_VERSION"; } \
        | sha1sum | cut -c1-12
}

ensure_war() {
    if [[ -n "${KILLBILL_WAR:-}" ]]; then
        [[ -s "$KILLBILL_WAR" ]] || die "KILLBILL_WAR=$KILLBILL_WAR does not exist"
        WAR="$KILLBILL_WAR"
        return 0
    fi
    local hash
    hash="$(sources_hash)"
    WAR="$CACHE_DIR/killbill-test-server-$KB_VERSION-$hash.war"
    [[ -s "$WAR" ]] && return 0
    need mvn
    ensure_parent_pom
    local build="$CACHE_DIR/build"
    rm -rf "$build" && mkdir -p "$build"
    cp -R "$KB_DIR/server/." "$build/"
    rm -rf "$build/target"
    log "building the Kill Bill $KB_VERSION war with Maven (first run only; log: $CACHE_DIR/maven.log)"
    local t0=$SECONDS
    if ! mvn_quiet -f "$build/pom.xml" -Dkillbill.version="$KB_VERSION" -DskipTests package; then
        tail -n 60 "$CACHE_DIR/maven.log" >&2
        die "Maven build of the Kill Bill war failed"
    fi
    cp "$build/target/killbill.war" "$WAR.tmp" && mv "$WAR.tmp" "$WAR"
    rm -rf "$build"
    log "war built in $((SECONDS - t0)) s: $WAR"
}

prepare() {
    need java
    need curl
    mkdir -p "$CACHE_DIR"
    : >"$CACHE_DIR/maven.log"
    if [[ -z "${KILLBILL_WAR:-}" ]] || [[ ! -x "$(tomcat_home)/bin/catalina.sh" ]]; then
        need mvn
    fi
    ensure_tomcat
    ensure_war
}

# ---------------------------------------------------------------------------------------------------------
# Process helpers

read_pid() { [[ -f "$PID_FILE" ]] && tr -dc '0-9' <"$PID_FILE" || true; }

# Is PID our Tomcat (a java process whose command line names our catalina.base)?
is_our_process() {
    local pid="$1"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "-Dcatalina.base=$CATALINA_BASE_DIR"
}

# PIDs of every process started from this runtime dir (leftovers included).
our_pids() {
    local d pid
    for d in /proc/[0-9]*; do
        pid="${d#/proc/}"
        is_our_process "$pid" && printf '%s\n' "$pid"
    done
    return 0
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port_from() {
    local p="$1"
    while ((p < 65535)); do
        if ! port_in_use "$p"; then
            printf '%s' "$p"
            return 0
        fi
        p=$((p + 1))
    done
    die "no free port found from $1"
}

http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" || true
}

healthy() { [[ "$(http_code "$BASE_URL/1.0/healthcheck")" == "200" ]]; }

# ---------------------------------------------------------------------------------------------------------
# Configuration of one run

write_tomcat_base() {
    local home="$1" rmi_port="$2" h2_port="$3"
    mkdir -p "$CATALINA_BASE_DIR"/{conf,webapps,logs,temp,work} "$RUNTIME_DIR/home"
    cp "$home/conf/web.xml" "$home/conf/logging.properties" "$CATALINA_BASE_DIR/conf/"
    # No jar scanning (TLDs, web fragments, annotations): the war is fully described by its web.xml,
    # and scanning its ~180 jars costs tens of seconds on a busy 2-core machine.
    cat >"$CATALINA_BASE_DIR/conf/context.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Context>
  <WatchedResource>WEB-INF/web.xml</WatchedResource>
  <JarScanner scanClassPath="false" scanManifest="false">
    <JarScanFilter defaultTldScan="false" defaultPluggabilityScan="false"/>
  </JarScanner>
</Context>
EOF
    # HTTP on 127.0.0.1 only; shutdown port disabled (stop = SIGTERM, which runs Tomcat's shutdown hook).
    cat >"$CATALINA_BASE_DIR/conf/server.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="$PORT" protocol="HTTP/1.1" connectionTimeout="20000" maxParameterCount="1000"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false" deployOnStartup="true"/>
    </Engine>
  </Service>
</Server>
EOF
    rm -rf "$CATALINA_BASE_DIR/webapps/ROOT" "$CATALINA_BASE_DIR/webapps/ROOT.war" "$CATALINA_BASE_DIR/work"/*
    cp "$WAR" "$CATALINA_BASE_DIR/webapps/ROOT.war"
    # H2 reads its web console settings from ~/.h2.server.properties (user.home is pointed here).
    printf 'webPort=%s\nwebAllowOthers=false\n' "$h2_port" >"$RUNTIME_DIR/home/.h2.server.properties"
    cp "$KB_DIR/catalog.xml" "$RUNTIME_DIR/catalog.xml"
    printf '%s\n' "$rmi_port" >"$RUNTIME_DIR/rmi.port"
}

start_server() {
    local home rmi_port h2_port
    home="$(tomcat_home)"
    if port_in_use "$PORT"; then
        die "port $PORT on 127.0.0.1 is already in use by another process (set KILLBILL_PORT)"
    fi
    rmi_port="${KILLBILL_RMI_PORT:-$(free_port_from $((PORT + 1000)))}"
    h2_port="${KILLBILL_H2_WEB_PORT:-$(free_port_from $((PORT + 2000)))}"

    # Fresh database, OSGI cache and Tomcat work dirs on every start.
    rm -rf "$RUNTIME_DIR/h2" "$RUNTIME_DIR/felix" "$RUNTIME_DIR/bundles" "$CATALINA_BASE_DIR"
    mkdir -p "$RUNTIME_DIR/h2" "$RUNTIME_DIR/bundles"
    write_tomcat_base "$home" "$rmi_port" "$h2_port"

    local db_url="jdbc:h2:file:$RUNTIME_DIR/h2/killbill;MODE=LEGACY;DB_CLOSE_DELAY=-1;DB_CLOSE_ON_EXIT=FALSE"
    local opts=(
        -Xms256m -Xmx1g
        -Duser.home="$RUNTIME_DIR/home"
        -Djava.security.egd=file:/dev/./urandom
        -Dcom.sun.xml.bind.v2.bytecode.ClassTailor.noOptimize=true
        -Djava.rmi.server.hostname=127.0.0.1
        -Dorg.killbill.server.test.mode=true
        -Dorg.killbill.server.updateCheck.skip=true
        -Dorg.killbill.osgi.root.dir="$RUNTIME_DIR/felix"
        -Dorg.killbill.osgi.bundle.install.dir="$RUNTIME_DIR/bundles"
        -Dorg.killbill.catalog.uri="file://$RUNTIME_DIR/catalog.xml"
        -Dlocal.kbserver.jndi.port="$rmi_port"
        -DKB_TEST_LOG_LEVEL="${KILLBILL_LOG_LEVEL:-INFO}"
    )
    : >"$LOG_FILE"
    log "starting Kill Bill on $BASE_URL (runtime dir $RUNTIME_DIR, RMI port $rmi_port, H2 console port $h2_port)"
    (
        cd "$RUNTIME_DIR"
        export CATALINA_HOME="$home" CATALINA_BASE="$CATALINA_BASE_DIR" CATALINA_TMPDIR="$CATALINA_BASE_DIR/temp"
        export CATALINA_OPTS="${opts[*]} ${KILLBILL_JAVA_OPTS:-}"
        export KB_org_killbill_dao_url="$db_url"
        export KB_org_killbill_billing_osgi_dao_url="$db_url"
        export LOGS_DIR="$CATALINA_BASE_DIR/logs"
        unset CATALINA_PID
        # "catalina.sh run" execs java, so $! is the JVM's pid.
        exec setsid nohup "$home/bin/catalina.sh" run </dev/null >>"$LOG_FILE" 2>&1
    ) &
    local pid=$! i
    # $! is the JVM unless setsid had to fork: then find the JVM by its catalina.base.
    for i in 1 2 3 4 5 6 7 8 9 10; do
        is_our_process "$pid" && break
        sleep 0.5
        local found
        found="$(our_pids | head -n 1)"
        [[ -n "$found" ]] && pid="$found" && break
    done
    printf '%s\n' "$pid" >"$PID_FILE"
    date +%s >"$RUNTIME_DIR/started-at"
}

wait_healthy() {
    local t0=$SECONDS pid
    pid="$(read_pid)"
    while ((SECONDS - t0 < START_TIMEOUT)); do
        if healthy; then
            log "Kill Bill is up after $((SECONDS - t0)) s ($BASE_URL/1.0/healthcheck = 200)"
            printf '%s\n' "$((SECONDS - t0))" >"$RUNTIME_DIR/startup-seconds"
            return 0
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail
            rm -f "$PID_FILE"
            kill_leftovers
            die "Kill Bill exited during start-up"
        fi
        sleep 2
    done
    show_log_tail
    log "stopping the server that did not come up"
    cmd_stop || true
    die "Kill Bill did not become healthy within $START_TIMEOUT s (KILLBILL_START_TIMEOUT)"
}

api() {
    # api METHOD PATH [curl args...]: prints the body, then the status code on the last line.
    local method="$1" path="$2"
    shift 2
    curl -s --max-time 60 -X "$method" -u "$KB_USER:$KB_PASSWORD" \
        -H "X-Killbill-ApiKey: $API_KEY" -H "X-Killbill-ApiSecret: $API_SECRET" \
        -H "X-Killbill-CreatedBy: killbill-server.sh" \
        -w '\n%{http_code}' "$@" "$BASE_URL$path"
}

ensure_tenant() {
    # POST and accept 409: on 0.24 a lookup of a missing apiKey (GET /1.0/kb/tenants?apiKey=) is a 500, not a 404.
    local out code
    out="$(api POST /1.0/kb/tenants -H 'Content-Type: application/json' \
        -d "{\"apiKey\":\"$API_KEY\",\"apiSecret\":\"$API_SECRET\"}")"
    code="${out##*$'\n'}"
    case "$code" in
        201) log "created tenant apiKey=$API_KEY" ;;
        409) ;;
        *) log "POST /1.0/kb/tenants: $out"; show_log_tail; die "cannot create the tenant (HTTP $code)" ;;
    esac
}

ensure_catalog() {
    local out code body
    out="$(api GET /1.0/kb/catalog/versions -H 'Accept: application/json')"
    code="${out##*$'\n'}"
    body="${out%$'\n'*}"
    [[ "$code" == "200" ]] || { log "GET /1.0/kb/catalog/versions: $out"; die "cannot list catalog versions (HTTP $code)"; }
    if [[ "$(tr -d '[:space:]' <<<"$body")" != "[]" ]]; then
        return 0
    fi
    out="$(api POST /1.0/kb/catalog/xml -H 'Content-Type: text/xml' --data-binary "@$KB_DIR/catalog.xml")"
    code="${out##*$'\n'}"
    [[ "$code" == "201" ]] || { log "POST /1.0/kb/catalog/xml: $out"; die "catalog upload failed (HTTP $code)"; }
    log "uploaded $KB_DIR/catalog.xml"
}

# ---------------------------------------------------------------------------------------------------------
# Commands

cmd_start() {
    need curl
    mkdir -p "$RUNTIME_DIR"
    local pid
    pid="$(read_pid)"
    if is_our_process "$pid"; then
        if healthy; then
            log "already running (pid $pid) on $BASE_URL"
        else
            log "already started (pid $pid), waiting for the healthcheck"
            wait_healthy
        fi
    else
        [[ -n "$pid" ]] && rm -f "$PID_FILE"
        # Leftovers from a crashed run of this runtime dir would hold the ports and the H2 files.
        kill_leftovers
        prepare
        local t0=$SECONDS
        start_server
        wait_healthy
        log "start-up took $((SECONDS - t0)) s"
    fi
    ensure_tenant
    ensure_catalog
    log "ready: $BASE_URL (tenant $API_KEY; log $LOG_FILE)"
}

kill_leftovers() {
    local pids
    pids="$(our_pids)"
    [[ -z "$pids" ]] && return 0
    log "killing leftover processes of $RUNTIME_DIR: $(tr '\n' ' ' <<<"$pids")"
    local p
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 5
    for p in $pids; do is_our_process "$p" && kill -KILL "$p" 2>/dev/null || true; done
    return 0
}

cmd_stop() {
    local pid t0=$SECONDS
    pid="$(read_pid)"
    if is_our_process "$pid"; then
        log "stopping Kill Bill (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        while is_our_process "$pid" && ((SECONDS - t0 < STOP_TIMEOUT)); do sleep 1; done
        if is_our_process "$pid"; then
            log "still running after $STOP_TIMEOUT s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
        else
            log "stopped in $((SECONDS - t0)) s"
        fi
    else
        log "not running"
    fi
    rm -f "$PID_FILE"
    kill_leftovers
    local left
    left="$(our_pids)"
    [[ -z "$left" ]] || die "processes still running: $left"
}

cmd_status() {
    local pid
    pid="$(read_pid)"
    if is_our_process "$pid"; then
        if healthy; then
            echo "running: pid $pid, $BASE_URL, healthy (runtime dir $RUNTIME_DIR)"
            return 0
        fi
        echo "running: pid $pid, $BASE_URL, NOT healthy yet (log $LOG_FILE)"
        return 1
    fi
    local left
    left="$(our_pids)"
    if [[ -n "$left" ]]; then
        echo "stopped, but leftover processes: $(tr '\n' ' ' <<<"$left")(run: $0 stop)"
    else
        echo "stopped ($BASE_URL)"
    fi
    return 1
}

cmd_env() {
    printf 'export BILLING_TEST_KILLBILL_URL=%q\n' "$BASE_URL"
    printf 'export BILLING_TEST_KILLBILL_USERNAME=%q\n' "$KB_USER"
    printf 'export BILLING_TEST_KILLBILL_PASSWORD=%q\n' "$KB_PASSWORD"
    printf 'export BILLING_TEST_KILLBILL_API_KEY=%q\n' "$API_KEY"
    printf 'export BILLING_TEST_KILLBILL_API_SECRET=%q\n' "$API_SECRET"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    prepare) prepare; log "ready to start: war $WAR, Tomcat $(tomcat_home)" ;;
    *) usage ;;
esac
