#!/usr/bin/env bash
# make cluster: three HttpServer backends behind HAProxy with TLS, each "host" a network namespace
# on one bridge, and a client namespace running curl and wrk. Runs the configurations shown in
# docs/DEPLOYMENT.md (docs/deploy/*, paths rewritten into a scratch directory) and asserts:
#   - the bundled site over HTTPS through HAProxy is byte-identical to www/, and the backends'
#     PHP application (an app pool of php-cgi processes) answers through it;
#   - the backends' access logs show the client's address, not HAProxy's;
#   - a rolling HUP, a rolling binary upgrade and a rolling QUIT-and-restart under wrk: 0 failures;
#   - kill -9 of one backend: HAProxy marks it down (time reported), failures reported, and it
#     takes traffic again after a restart;
#   - a forged PROXY header sent straight to a backend by the client is refused.
# Skips in one line when the machine cannot (not root, no netns/veth, a tool missing). Everything
# it starts is stopped and every namespace removed on exit, failure included.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${HTTPSERVER_BIN:-$ROOT/HttpServer}
WWW=$ROOT/www
P=hsc$$  # namespace and interface prefix, unique per run
NETS=(sw edge client b1 b2 b3)
EDGE=10.77.0.2
CLIENT=10.77.0.10
BACKENDS=(10.77.0.11 10.77.0.12 10.77.0.13)
WORK=$(mktemp -d /tmp/hs-cluster.XXXXXX)
FAILED=0
PIDS=()  # processes started outside the backends' pid files (haproxy)

skip() { echo "cluster: skipped: $*"; rm -rf "$WORK"; exit 0; }
say() { echo "cluster: $*"; }
fail() { echo "cluster: FAIL: $*"; FAILED=$((FAILED + 1)); }
in_ns() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

cleanup() {
  for i in 1 2 3; do stop_backend "$i" KILL; stop_backend "$i" KILL pid.oldbin; done
  [ -s "$WORK/alone.pid" ] && kill -KILL "$(cat "$WORK/alone.pid")" 2>/dev/null
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for n in "${NETS[@]}"; do ip netns del "$P-$n" 2>/dev/null; done
  # A master killed here cannot remove its apps' private socket directory: remove the ones the
  # backends' logs name (only those; other servers on this machine keep theirs).
  grep -ho 'unix:/tmp/HttpServer-apps\.[A-Za-z0-9]*' "$WORK"/b*/error.log "$WORK"/alone.log 2>/dev/null |
    sort -u | while read -r d; do rm -rf -- "${d#unix:}"; done
  if [ "$FAILED" -eq 0 ]; then rm -rf "$WORK"; else say "logs kept in $WORK"; fi
}

# True once process $1 is gone (a zombie counts: a daemon's parent may be a PID 1 that never reaps).
gone() { [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]; }

# Polls `cmd` every 100 ms until it succeeds or `ms` pass. Returns 1 on timeout.
wait_for() {
  local ms=$1; shift
  local end=$(($(date +%s%3N) + ms))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%3N)" -ge "$end" ] && return 1
    sleep 0.1
  done
}

# ---- capabilities ------------------------------------------------------------------------------

[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns"
for tool in ip haproxy wrk curl openssl; do
  command -v "$tool" >/dev/null || skip "$tool not installed (Debian: iproute2 haproxy wrk curl openssl)"
done
[ -x /usr/bin/php-cgi ] || skip "/usr/bin/php-cgi not installed (Debian: php-cgi)"
[ -x "$BIN" ] || skip "$BIN not built"
ip netns add "$P-probe" 2>/dev/null || skip "ip netns add failed (no network namespaces here)"
if ! ip -n "$P-probe" link add "${P}pa" type veth peer name "${P}pb" 2>/dev/null; then
  ip netns del "$P-probe"
  skip "cannot create veth pairs"
fi
ip netns del "$P-probe"
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the configurations from docs/DEPLOYMENT.md ------------------------------------------------

# The doc shows each file verbatim; what runs here is that text with only the paths rewritten.
for f in backend.conf haproxy.cfg; do
  if ! awk -v f="$f" '$0 == "<!-- file: docs/deploy/" f " -->" {on = 1; next}
                      on && /^```/ {if (started) exit; started = 1; next}
                      on && started {print}' "$ROOT/docs/DEPLOYMENT.md" |
       cmp -s - "$ROOT/docs/deploy/$f"; then
    fail "docs/DEPLOYMENT.md does not show docs/deploy/$f verbatim"
  fi
done

# ---- network: a bridge in its own namespace, one veth per host ---------------------------------

net_up() {
  for n in "${NETS[@]}"; do ip netns add "$P-$n" || return 1; done
  ip -n "$P-sw" link add br0 type bridge && ip -n "$P-sw" link set br0 up || return 1
  local hosts=(edge client b1 b2 b3) addrs=("$EDGE" "$CLIENT" "${BACKENDS[@]}") i
  for i in "${!hosts[@]}"; do
    local h=${hosts[$i]}
    ip -n "$P-sw" link add "p$i" type veth peer name eth0 netns "$P-$h" || return 1
    ip -n "$P-sw" link set "p$i" master br0 up || return 1
    ip -n "$P-$h" addr add "${addrs[$i]}/24" dev eth0 || return 1
    ip -n "$P-$h" link set eth0 up && ip -n "$P-$h" link set lo up || return 1
  done
  ip -n "$P-sw" link set lo up
}
net_up || { fail "could not build the namespaces and the bridge"; exit 1; }

# ---- backends ----------------------------------------------------------------------------------

chmod 755 "$WORK"
backend_conf() {  # $1: 1..3
  local d=$WORK/b$1
  mkdir -p "$d" && chmod 755 "$d"
  sed -e "s|listen 10.77.0.11:8080 |listen ${BACKENDS[$(($1 - 1))]}:8080 |" \
      -e "s|root /var/www;|root $WWW;|" -e "s|root /srv;|root $WORK/srv;|" \
      -e "s|/var/log/HttpServer/|$d/|" -e "s|/run/HttpServer.pid|$d/pid|" \
      "$ROOT/docs/deploy/backend.conf" > "$d/HttpServer.conf"
}
start_backend() {
  in_ns "b$1" "$BIN" -c "$WORK/b$1/HttpServer.conf" --daemon || return 1
}
master_pid() { cat "$WORK/b$1/pid" 2>/dev/null; }
stop_backend() {  # $1: index, $2: signal, [$3: pid file name]; waits for its processes to go
  local pid kids
  pid=$(cat "$WORK/b$1/${3:-pid}" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
  kill -"$2" "$pid" $kids 2>/dev/null
  wait_for 20000 gone "$pid"
}
mkdir -p "$WORK/srv/app" && chmod -R 755 "$WORK/srv"
printf '%s\n' '<?php echo "php ", $_GET["n"], "\n";' > "$WORK/srv/app/hello.php"
for i in 1 2 3; do
  backend_conf "$i"
  start_backend "$i" || fail "backend $i did not start: $(cat "$WORK/b$i/error.log" 2>/dev/null)"
done

# ---- edge: HAProxy with a certificate made here ------------------------------------------------

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=edge.test" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat "$WORK/cert.pem" "$WORK/key.pem" > "$WORK/site.pem"
sed -e "s|/etc/haproxy/site.pem|$WORK/site.pem|" "$ROOT/docs/deploy/haproxy.cfg" > "$WORK/haproxy.cfg"
# Not through in_ns: a function run in the background is a subshell, and $! would be that shell,
# not haproxy (ip netns exec replaces itself with haproxy, so here $! is haproxy's pid).
ip netns exec "$P-edge" haproxy -db -f "$WORK/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 &
PIDS+=($!)
disown

# The stats CSV's status column for server web$1 (UP, DOWN, "UP 1/2", ...).
server_status() {
  in_ns edge curl -s --max-time 2 "http://127.0.0.1:8404/stats;csv" |
    awk -F, -v s="web$1" '$1 == "web" && $2 == s {print $18}'
}
is_up() { [ "$(server_status "$1")" = UP ]; }
is_down() { [[ "$(server_status "$1")" == DOWN* ]]; }
for i in 1 2 3; do
  wait_for 15000 is_up "$i" || fail "HAProxy never saw web$i up ($(server_status "$i"))"
done

# ---- the site over HTTPS, byte-identical; HTTP redirects --------------------------------------

curl_c() { in_ns client curl -sk --max-time 10 "$@"; }
files=0
while IFS= read -r f; do
  rel=${f#"$WWW"}
  curl_c -o "$WORK/got" "https://$EDGE$rel" && cmp -s "$WORK/got" "$f" ||
    fail "https://$EDGE$rel differs from www$rel"
  files=$((files + 1))
done < <(find "$WWW" -type f | sort)
say "$files files of www/ byte-identical over HTTPS through HAProxy"
php=$(curl_c "https://$EDGE/app/hello.php?n=7")
[ "$php" = "php 7" ] || fail "the PHP application through HAProxy answered '$php'"
code=$(curl_c -o /dev/null -w '%{http_code} %{redirect_url}' "http://$EDGE/index.html")
[ "$code" = "301 https://$EDGE/index.html" ] || fail "HTTP does not redirect to HTTPS: $code"

# ---- the client's address in the backends' access logs -----------------------------------------

for i in 1 2 3; do curl_c -o /dev/null "https://$EDGE/robots.txt?mark=$i"; done
logs_have_client() {
  cat "$WORK"/b*/access.log | grep -q "^$CLIENT .*GET /robots.txt?mark=3 "
}
wait_for 5000 logs_have_client || fail "no access-log line with the client address $CLIENT"
others=$(cat "$WORK"/b*/access.log | grep -v ' "GET /healthz ' | grep -vc "^$CLIENT ")
[ "$others" -eq 0 ] || fail "$others access-log lines name another address than $CLIENT"
say "backends log the client $CLIENT (HAProxy's own health checks, PROXY LOCAL, log $EDGE)"

# ---- rolling operations under load ------------------------------------------------------------

# Runs wrk for $1 seconds in the background; wrk_failed then reads its failure count.
wrk_start() {
  in_ns client wrk -t2 -c16 -d"$1"s "https://$EDGE/index.html" > "$WORK/wrk.out" 2>&1 &
  WRK=$!
  wait_for 5000 frontend_busy
}
# True while HAProxy's https frontend holds client connections (wrk has started).
frontend_busy() {
  local n
  n=$(in_ns edge curl -s --max-time 2 "http://127.0.0.1:8404/stats;csv" |
    awk -F, '$1 == "https" && $2 == "FRONTEND" {print $5}')
  [ "${n:-0}" -gt 0 ]
}
# Waits for wrk to finish (in this shell: it is this shell's child), then counts its failures.
wrk_failed() {
  wait "$WRK"
  awk '/Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
       /Non-2xx/ {n += $NF} END {print n + 0}' "$WORK/wrk.out"
}
wrk_rate() { awk '/Requests\/sec/ {print int($2)}' "$WORK/wrk.out"; }

rolling_hup() {
  local i
  for i in 1 2 3; do
    kill -HUP "$(master_pid "$i")"
    wait_for 10000 grep -q "reload: starting generation" "$WORK/b$i/error.log" || return 1
    wait_for 10000 is_up "$i" || return 1
  done
}

rolling_upgrade() {
  local i old
  for i in 1 2 3; do
    old=$(master_pid "$i")
    kill -USR2 "$old"
    wait_for 10000 test -e "$WORK/b$i/pid.oldbin" || return 1
    wait_for 10000 bash -c "[ -s '$WORK/b$i/pid' ] && [ \"\$(cat '$WORK/b$i/pid')\" != $old ]" ||
      return 1
    kill -QUIT "$old"
    wait_for 20000 gone "$old" || return 1
    wait_for 10000 is_up "$i" || return 1
  done
}

rolling_restart() {
  local i old
  for i in 1 2 3; do
    old=$(master_pid "$i")
    kill -QUIT "$old"
    wait_for 5000 is_down "$i" || return 1  # the health path turned 503 before the port closed
    wait_for 20000 gone "$old" || return 1
    start_backend "$i" || return 1
    wait_for 10000 is_up "$i" || return 1
  done
}

for op in rolling_hup rolling_upgrade rolling_restart; do
  secs=$([ $op = rolling_hup ] && echo 8 || echo 40)
  wrk_start "$secs"
  t0=$(date +%s%3N)
  $op || fail "$op did not complete (see $WORK)"
  took=$(($(date +%s%3N) - t0))
  [ "$took" -lt $((secs * 1000 - 500)) ] || fail "$op took $took ms, longer than its wrk run"
  wrk_failed > "$WORK/failed"
  n=$(cat "$WORK/failed")
  say "$op: $took ms under wrk ($(wrk_rate) req/s), failed requests: $n"
  [ "$n" -eq 0 ] || fail "$op: $n failed requests"
done

# ---- kill -9 of every process of one backend --------------------------------------------------

wrk_start 10
pid=$(master_pid 2)
kill -KILL "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null)
t0=$(date +%s%3N)
if wait_for 10000 is_down 2; then
  took=$(($(date +%s%3N) - t0))
  say "kill -9 of backend 2: HAProxy marked it down after $took ms (check every 500 ms, fall 2)"
  # Two failed checks take 0.5 to 1 s; the rest is this test polling the stats page under load.
  [ "$took" -lt 3000 ] || fail "marking backend 2 down took $took ms"
else
  fail "HAProxy did not mark backend 2 down"
fi
wait_for 20000 gone "$pid" || fail "backend 2's master survived kill -9"
wrk_failed > "$WORK/failed"
n=$(cat "$WORK/failed")
say "kill -9 of backend 2: failed requests: $n (wrk: $(wrk_rate) req/s)"
before=$(wc -l < "$WORK/b2/access.log")
start_backend 2 || fail "backend 2 did not restart"
wait_for 10000 is_up 2 || fail "backend 2 not up again after the restart"
for k in $(seq 1 9); do curl_c -o /dev/null "https://$EDGE/robots.txt?after=$k"; done
wait_for 5000 bash -c "[ \$(grep -c 'after=' '$WORK/b2/access.log') -gt 0 ]" ||
  fail "backend 2 takes no traffic after its restart (log had $before lines)"

# ---- a forged PROXY header straight to a backend ----------------------------------------------

out=$(in_ns client curl -s --max-time 5 --haproxy-protocol -o /dev/null -w '%{http_code}' \
  "http://${BACKENDS[0]}:8080/index.html")
[ "$out" = 000 ] || fail "a forged PROXY header from the client got HTTP $out"
wait_for 3000 grep -q "not in set_real_ip_from, client: $CLIENT" "$WORK/b1/error.log" ||
  fail "the refusal of the forged PROXY header was not logged"
say "a forged PROXY header from $CLIENT straight to a backend is refused and logged"

# ---- throughput: through HAProxy (TLS, PROXY v2) beside one instance alone --------------------

in_ns b1 "$BIN" "${BACKENDS[0]}" 8081 2 1000 --root "$WWW" --pid-file "$WORK/alone.pid" \
  --error-log "$WORK/alone.log" --daemon || fail "the lone instance did not start"
in_ns client wrk -t2 -c16 -d5s "http://${BACKENDS[0]}:8081/index.html" > "$WORK/wrk.out" 2>&1
alone=$(wrk_rate)
kill -TERM "$(cat "$WORK/alone.pid")"
in_ns client wrk -t2 -c16 -d5s "https://$EDGE/index.html" > "$WORK/wrk.out" 2>&1
edge=$(wrk_rate)
say "throughput: one instance alone $alone req/s; three through HAProxy with TLS $edge req/s" \
    "(all on $(nproc) cores: this shows the hop's cost, not scaling)"

if [ "$FAILED" -eq 0 ]; then say "passed"; else say "$FAILED checks failed"; exit 1; fi
