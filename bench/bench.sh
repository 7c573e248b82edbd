#!/usr/bin/env bash
# bench.sh - ./HttpServer side by side with nginx, h2o and a floor responder on this machine, rounds
# interleaved (HttpServer, nginx, h2o, floor, HttpServer, ...) so that drift hits all alike.
#
# Usage: bench/bench.sh [--quick] [--rounds N] [--duration S] [--ab-n N] [--cases a,b,...]
#                       [--servers hs,nginx,h2o,floor] [--slow-delay MS] [--slow-cold 4,8] [--slow-pool N]
#   --quick       2 s wrk runs, ab -n 5000 (3 rounds)
#   --rounds N    rounds per case (default 3); the table shows median [min..max]
#   --duration S  seconds per wrk run (default 10)
#   --ab-n N      requests per ab run (default 20000)
#   --servers L   which of hs, nginx, h2o, floor take part (default all; hs always does)
#   --cases LIST  any of (default all):
#                   a  keep-alive 1 KiB:         wrk -t1 -c100 --latency /1k.bin
#                   p  pipelined keep-alive 1 KiB: wrk -t1 -c100 -s bench/pipeline.lua, 16 a write
#                   b  connection per request:   ab -n N -c 100 /1k.bin (HTTP/1.0, no -k)
#                   c  100 MiB file:             wrk -t1 -c4 /100m.bin
#                   m  1 MiB file:               wrk -t1 -c4 /1m.bin
#                   d  10000 idle keep-alive connections: RSS growth per connection, summed
#                      over the server's processes (each round on freshly started servers)
#                   s  slow disk (FUSE, bench/../tests/integration/slowfs.py, --slow-delay ms per
#                      getattr/open/read, default 150): one worker each, --slow-cold N clients
#                      (default 4 and 8) download a cold 2 MiB file each while a keep-alive
#                      client asks for a hot file every 10 ms (bench/slowmix.py); HttpServer with
#                      --thread-pool N (--slow-pool, default 4, the server's default) and with 0,
#                      nginx without and with `aio threads` (its default pool: 32 threads); each
#                      run on a fresh mount. nginx's two only with --servers nginx. Skips in one
#                      line without FUSE.
# Servers: HttpServer (2 workers), nginx (2 workers, sendfile, tcp_nopush), h2o 2.2 (2 threads,
# Debian's), floor_server (bench/floor_server.c: 2 processes, epoll, one recv and one send per
# request, a canned 1 KiB answer, no parsing or files; cases a, p and b only): the kernel's floor.
# Metrics: req/s or MiB/s, p99 latency, errors, and server CPU time (run time of every thread of
# every process of the server, from /proc/PID/task/TID/schedstat) per request or per MiB - the
# steadiest figure, since the load generator shares the cores. Ratios = HttpServer/other of the
# medians.
# Exit status: 0 ok, 1 a server failed to start or to serve 1k.bin byte-identically,
# 2 HttpServer had errors under load or died, 4 usage or environment problem.
# Only 127.0.0.1 is used; every load command runs under `timeout`.

set -u
export LC_ALL=C

ROUNDS=3 DUR=10 ABN=20000 CASES=a,p,b,c,m,d,s IDLE_N=10000 SERVERS_ARG=hs,nginx,h2o,floor
SLOW_DELAY=150 SLOW_COLD=4,8 SLOW_POOL=4 PIPE_DEPTH=16
while [ $# -gt 0 ]; do
    case $1 in
        --quick) DUR=2 ABN=5000; shift;;
        --rounds) ROUNDS=$2; shift 2;;
        --duration) DUR=$2; shift 2;;
        --ab-n) ABN=$2; shift 2;;
        --cases) CASES=$2; shift 2;;
        --servers) SERVERS_ARG=$2; shift 2;;
        --slow-delay) SLOW_DELAY=$2; shift 2;;
        --slow-cold) SLOW_COLD=$2; shift 2;;
        --slow-pool) SLOW_POOL=$2; shift 2;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0;;
        *) echo "bench.sh: unknown option $1 (try --help)" >&2; exit 4;;
    esac
done
for v in "$ROUNDS" "$DUR" "$ABN" "$SLOW_DELAY" "$SLOW_POOL" ${SLOW_COLD//,/ }; do [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: '$v' is not a positive integer" >&2; exit 4; }; done
IFS=, read -r -a CASE_LIST <<< "$CASES"
ORDER=()                             # d first: it restarts the servers, so the load cases then run on fresh ones
for c in d a p b c m s; do [[ ",$CASES," == *",$c,"* ]] && ORDER+=("$c"); done
for c in "${CASE_LIST[@]}"; do [[ $c =~ ^[abcdmps]$ ]] || { echo "bench.sh: unknown case '$c'" >&2; exit 4; }; done
SERVERS=(hs)
for x in nginx h2o floor; do [[ ",$SERVERS_ARG," == *",$x,"* ]] && SERVERS+=("$x"); done
for x in ${SERVERS_ARG//,/ }; do [[ $x =~ ^(hs|nginx|h2o|floor)$ ]] || { echo "bench.sh: unknown server '$x'" >&2; exit 4; }; done
on() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }
takes_part() {   # takes_part SERVER CASE: floor_server answers 1k.bin-like requests only
    [ "$1" != floor ] || [[ $2 =~ ^[apb]$ ]]
}

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/HttpServer
[ -x "$BIN" ] || { echo "bench.sh: $BIN not found; run make first" >&2; exit 4; }

# ------------------------------------------------------------------ tools
install_missing() {
    local pkgs=() made_policy=0
    command -v nginx >/dev/null || pkgs+=(nginx)
    command -v wrk >/dev/null || pkgs+=(wrk)
    command -v ab >/dev/null || pkgs+=(apache2-utils)
    command -v curl >/dev/null || pkgs+=(curl)
    command -v python3 >/dev/null || pkgs+=(python3)
    command -v ss >/dev/null || pkgs+=(iproute2)
    on h2o && ! command -v h2o >/dev/null && pkgs+=(h2o)
    on floor && ! command -v cc >/dev/null && pkgs+=(gcc)
    [ ${#pkgs[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || { echo "bench.sh: missing ${pkgs[*]}; install them or run as root" >&2; exit 4; }
    echo "installing ${pkgs[*]} ..." >&2
    if [ ! -e /usr/sbin/policy-rc.d ]; then   # keep the nginx and h2o packages from starting a service
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${pkgs[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${pkgs[@]}" >/dev/null 2>&1; }
    local rc=$?
    [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || { echo "bench.sh: apt-get install ${pkgs[*]} failed" >&2; exit 4; }
}
install_missing

ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

# ------------------------------------------------------------------ scratch dir, servers
W=$(mktemp -d /tmp/hsbench.XXXXXX) || exit 4
chmod 755 "$W"                       # workers of both servers run as nobody when started as root
declare -A PID=() PORT=()
IDLE_PID=""

port_busy() { [ -n "$(ss -Hltn "( sport = :$1 )")" ]; }
all_free() { local i; for i in 0 1 2 3 4; do port_busy $(($1 + i)) && return 1; done; return 0; }
p=28080; until all_free $p; do p=$((p + 5)); done
PORT[hs]=$p PORT[nginx]=$((p + 1)) PORT[h2o]=$((p + 2)) PORT[floor]=$((p + 3)) PORT[slow]=$((p + 4))
for v in hsp hs0 ngx ngxaio; do PORT[$v]=${PORT[slow]}; done     # case s: one at a time

tree_pids() {    # tree_pids PID: PID and all its descendants
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p; while (q != "" && q != root && q > 1) q = parent[q]; if (q == root) print p } }'
}
cpu_us() {       # run time of every thread of the whole server, in microseconds
    local t=0 p f ns _
    for p in $(tree_pids "$1"); do
        for f in /proc/"$p"/task/*/schedstat; do
            { read -r ns _ < "$f"; } 2>/dev/null && t=$((t + ns))
        done
    done
    echo $((t / 1000))
}
rss_kb() {
    local t=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null); t=$((t + ${v:-0}))
    done
    echo $t
}

mkdir -p "$W/www" "$W/nginx"
{
    echo '<!DOCTYPE html><html><head><title>bench</title></head><body>'
    for i in 1 2 3 4 5 6 7 8; do echo "<p>line $i of a small index page used by the benchmark</p>"; done
    echo '</body></html>'
} > "$W/www/index.html"
head -c 1024 /dev/urandom > "$W/www/1k.bin"
head -c $((1 << 20)) /dev/urandom > "$W/www/1m.bin"
head -c $((100 << 20)) /dev/urandom > "$W/www/100m.bin"
cat "$W/www/"* > /dev/null          # warm the page cache

WC=$((NOFILE - 200)); [ $WC -gt 16384 ] && WC=16384
cat > "$W/nginx/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile $NOFILE;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections $WC; }
http {
    types { text/html html; application/octet-stream bin; }
    sendfile on;
    tcp_nopush on;
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path $W/nginx/body;
    proxy_temp_path $W/nginx/proxy;
    fastcgi_temp_path $W/nginx/fastcgi;
    uwsgi_temp_path $W/nginx/uwsgi;
    scgi_temp_path $W/nginx/scgi;
    server {
        listen 127.0.0.1:${PORT[nginx]} backlog=4096;
        root $W/www;
    }
}
EOF

mkdir -p "$W/h2o" && chmod 1777 "$W/h2o"     # h2o writes its pid file after dropping to nobody
cat > "$W/h2o/h2o.conf" <<EOF
listen:
  host: 127.0.0.1
  port: ${PORT[h2o]}
num-threads: 2
max-connections: $WC
pid-file: $W/h2o/h2o.pid
error-log: $W/h2o/error.log
user: nobody
hosts:
  default:
    paths:
      /:
        file.dir: $W/www
EOF
if on floor; then
    cc -O2 -o "$W/floor_server" "$TOP/bench/floor_server.c" ||
        { echo "bench.sh: cannot build bench/floor_server.c" >&2; exit 4; }
fi

start_server() { # start_server hs|nginx|h2o|floor
    local name=$1 i
    case $name in
        hs) "$BIN" 127.0.0.1 "${PORT[hs]}" 2 10000 --root "$W/www" --access-log off > "$W/hs.log" 2>&1 < /dev/null &;;
        nginx) nginx -p "$W/nginx/" -c "$W/nginx/nginx.conf" -g 'daemon off;' > "$W/nginx.log" 2>&1 < /dev/null &;;
        h2o) h2o -c "$W/h2o/h2o.conf" > "$W/h2o.log" 2>&1 < /dev/null &;;
        floor) "$W/floor_server" "${PORT[floor]}" 2 > "$W/floor.log" 2>&1 < /dev/null &;;
        hsp|hs0) "$BIN" 127.0.0.1 "${PORT[slow]}" 1 1000 --root "$W/slow/www" --access-log off \
                     --thread-pool "$([ "$name" = hsp ] && echo "$SLOW_POOL" || echo 0)" > "$W/$name.log" 2>&1 < /dev/null &;;
        ngx|ngxaio) nginx -p "$W/ngxslow/" -c "$W/ngxslow/$name.conf" -g 'daemon off;' > "$W/$name.log" 2>&1 < /dev/null &;;
    esac
    PID[$name]=$!
    for i in $(seq 50); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:${PORT[$name]}/index.html" && return 0
        kill -0 "${PID[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench.sh: $name did not start; log:" >&2; tail -5 "$W/$name.log" >&2
    return 1
}
stop_server() {  # SIGTERM to the master we started; SIGKILL to what is left of its tree after 3 s
    local name=$1 pid=${PID[$1]:-} kids i
    [ -n "$pid" ] || return 0
    kids=$(tree_pids "$pid")
    if [ "$name" = floor ]; then kill -TERM $kids 2>/dev/null; else kill -TERM "$pid" 2>/dev/null; fi
    for i in $(seq 30); do kill -0 $kids 2>/dev/null || break; sleep 0.1; done
    kill -KILL $kids 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "PID[$name]"
}
cleanup() {
    [ -n "$IDLE_PID" ] && { kill "$IDLE_PID" 2>/dev/null; wait "$IDLE_PID" 2>/dev/null; }
    local s
    for s in "${!PID[@]}"; do stop_server "$s"; done
    declare -F slow_cleanup > /dev/null && slow_cleanup
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ header and checks
echo "bench.sh  $(date '+%F %T %Z')  nproc $(nproc)  kernel $(uname -r)  RLIMIT_NOFILE $NOFILE"
echo "  $("$BIN" -V 2>&1 | head -1) | $(nginx -v 2>&1 | sed 's/^nginx version: //') | wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}')" \
     "| ab $(ab -V | awk 'NR==1 {print $5}') | $(curl -V | awk 'NR==1 {print $1, $2}') | $(python3 -V)"
echo "  HttpServer 127.0.0.1:${PORT[hs]} 2 workers x 10000 conns --access-log off (thread pool: default)"
on nginx && echo "  nginx      127.0.0.1:${PORT[nginx]} 2 workers, sendfile, tcp_nopush, access_log off, keepalive_requests 100000"
on h2o && echo "  h2o        127.0.0.1:${PORT[h2o]} $(h2o -v 2>&1 | head -1), num-threads 2, file.dir, no access log"
on floor && echo "  floor      127.0.0.1:${PORT[floor]} bench/floor_server.c (cc -O2), 2 processes"
echo "  rounds $ROUNDS, wrk ${DUR}s, ab -n $ABN, cases $CASES, pipeline depth $PIPE_DEPTH; load average $(cut -d' ' -f1-3 /proc/loadavg)"

for s in "${SERVERS[@]}"; do
    start_server "$s" || exit 1
    [ "$s" = floor ] && continue     # its canned answer is not the file
    curl -s --max-time 5 -o "$W/$s.1k" "http://127.0.0.1:${PORT[$s]}/1k.bin"
    cmp -s "$W/$s.1k" "$W/www/1k.bin" || { echo "bench.sh: $s does not serve 1k.bin byte-identically" >&2; exit 1; }
done
echo "  ${SERVERS[*]}: up; every file server serves 1k.bin byte-identically"

# ------------------------------------------------------------------ measurements
RES=$W/results; : > "$RES"
HS_ERRORS=0
rec() { echo "$1 $2 $3 $4" >> "$RES"; }     # server case metric value
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) ; else if (v ~ /m$/) n *= 60000;
                                 else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }
to_mib() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /GB$/) n *= 1024; else if (v ~ /KB$/) n /= 1024; else if (v ~ /[0-9]B$/) n /= 1048576;
                                  printf "%.2f", n }'; }

run_load() {     # run_load SERVER CASE ROUND: one wrk or ab run, recorded in $RES
    local s=$1 c=$2 r=$3 u="http://127.0.0.1:${PORT[$1]}" out=$W/$1.$2.$3.out c0 c1 n e
    c0=$(cpu_us "${PID[$s]}")
    case $c in
        a) timeout $((DUR + 15)) wrk -t1 -c100 -d"${DUR}s" --latency "$u/1k.bin" > "$out" 2>&1;;
        p) timeout $((DUR + 15)) wrk -t1 -c100 -d"${DUR}s" --latency -s "$TOP/bench/pipeline.lua" "$u/1k.bin" \
               -- "$PIPE_DEPTH" > "$out" 2>&1;;
        b) timeout 300 ab -r -s 10 -n "$ABN" -c 100 "$u/1k.bin" > "$out" 2>&1;;
        c) timeout $((DUR + 30)) wrk -t1 -c4 -d"${DUR}s" --timeout 10s --latency "$u/100m.bin" > "$out" 2>&1;;
        m) timeout $((DUR + 30)) wrk -t1 -c4 -d"${DUR}s" --timeout 10s --latency "$u/1m.bin" > "$out" 2>&1;;
    esac
    c1=$(cpu_us "${PID[$s]}")
    if [ "$c" = b ]; then
        n=$(awk '/^Complete requests:/ {print $3}' "$out")
        e=$(awk -v want="$ABN" '/^Complete requests:/ {d = want - $3} /^Failed requests:/ {f = $3} /^Non-2xx responses:/ {x = $3}
                                END {print d + f + x}' "$out")
        rec "$s" b req/s "$(awk '/^Requests per second:/ {printf "%.0f", $4}' "$out")"
        rec "$s" b p99_ms "$(awk '$1 == "99%" {print $2}' "$out")"
    else
        n=$(awk '/ requests in / {print $1}' "$out")
        e=$(awk '/Socket errors:/ {gsub(/,/, ""); t += $4 + $6 + $8 + $10} /Non-2xx or 3xx/ {t += $5} END {print t + 0}' "$out")
        if [[ $c =~ ^[ap]$ ]]; then
            rec "$s" "$c" req/s "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
        else
            rec "$s" "$c" MiB/s "$(to_mib "$(awk '/^Transfer\/sec:/ {print $2}' "$out")")"
        fi
        rec "$s" "$c" p99_ms "$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")"
    fi
    if [ -z "$n" ] || [ "$n" = 0 ]; then
        echo " [$s case $c round $r produced no result: $(grep -v '^$' "$out" | tail -1)]" >&2
        e=$((${e:-0} + 1))
    elif [[ $c =~ ^[cm]$ ]]; then
        rec "$s" "$c" cpu_us/MiB "$(awk -v d=$((c1 - c0)) -v m="$(to_mib "$(awk '/ requests in / {print $5}' "$out")")" \
                                  'BEGIN {if (m > 0) printf "%.1f", d / m}')"
    else
        rec "$s" "$c" cpu_us/req "$(awk -v d=$((c1 - c0)) -v n="$n" 'BEGIN {printf "%.2f", d / n}')"
    fi
    rec "$s" "$c" errors "$e"
    [ "$s" = hs ] && HS_ERRORS=$((HS_ERRORS + e))
    kill -0 "${PID[$s]}" 2>/dev/null || { echo "bench.sh: $s died during case $c round $r" >&2; tail -5 "$W/$s.log" >&2; exit 2; }
    printf . >&2
}

run_idle() {     # run_idle SERVER: RSS growth for IDLE_N idle keep-alive connections on a fresh server
    local s=$1 port=${PORT[$1]} out=$W/idle.$1.out before after held i
    stop_server "$s"; start_server "$s" || exit 1
    sleep 0.5
    before=$(rss_kb "${PID[$s]}")
    timeout 120 python3 "$TOP/bench/idle.py" 127.0.0.1 "$port" "$IDLE_N" 90 > "$out" 2>&1 &
    IDLE_PID=$!
    for i in $(seq 600); do grep -q READY "$out" && break; kill -0 "$IDLE_PID" 2>/dev/null || break; sleep 0.1; done
    sleep 1
    after=$(rss_kb "${PID[$s]}")
    held=$(ss -Htn state established "( sport = :$port )" | wc -l)
    kill "$IDLE_PID" 2>/dev/null; wait "$IDLE_PID" 2>/dev/null; IDLE_PID=""
    rec "$s" d held_conns "$held"
    rec "$s" d rss_growth_kB $((after - before))
    rec "$s" d bytes/conn $(( (after - before) * 1024 / (held > 0 ? held : 1) ))
    [ "$s" = hs ] && [ "$held" -lt "$IDLE_N" ] && echo " [hs held only $held of $IDLE_N idle connections: $(cat "$out")]" >&2
    printf . >&2
}

# ------------------------------------------------------------------ case s: the slow disk
SLOW_VARIANTS=(hsp hs0)
on nginx && SLOW_VARIANTS+=(ngx ngxaio)
SLOWFS_PID="" SLOW_MNT=$W/slow/www/slow
slow_unavailable() {   # prints why case s cannot run here and returns 0, or returns 1
    if [ ! -w /dev/fuse ]; then echo "no usable /dev/fuse"
    elif ! command -v fusermount >/dev/null; then echo "fusermount is missing (package fuse)"
    elif ! /usr/bin/python3 -c 'import fuse' 2>/dev/null; then echo "python3-fuse is missing"
    elif ! nginx -V 2>&1 | grep -q -- --with-threads; then echo "nginx is built without threads"
    else return 1; fi
    return 0
}
slow_mounted() { grep -q " $SLOW_MNT " /proc/self/mountinfo; }
slow_cleanup() {
    [ -n "${SLOW_MNT:-}" ] && slow_mounted && fusermount -u -z "$SLOW_MNT"
    if [ -n "${SLOWFS_PID:-}" ]; then
        kill "$SLOWFS_PID" 2>/dev/null; wait "$SLOWFS_PID" 2>/dev/null; SLOWFS_PID=""
    fi
    return 0
}
slow_prepare() {       # the trees, once: hot.html in a fast root, cold files under the mount point
    [ -d "$W/slow/src" ] && return 0
    mkdir -p "$W/slow/src" "$SLOW_MNT" "$W/ngxslow"
    head -c 1000 /dev/urandom > "$W/slow/www/hot.html"
    local i v max=0
    for i in ${SLOW_COLD//,/ }; do [ "$i" -gt $max ] && max=$i; done
    for i in $(seq $max); do head -c $((2 << 20)) /dev/urandom > "$W/slow/src/cold$i.bin"; done
    for v in ngx ngxaio; do
        cat > "$W/ngxslow/$v.conf" <<EOF
worker_processes 1;
pid $W/ngxslow/$v.pid;
error_log $W/ngxslow/error.log warn;
events { worker_connections 1024; }
http {
    types { text/html html; application/octet-stream bin; }
    sendfile on;
    tcp_nopush on;
    $([ $v = ngxaio ] && echo 'aio threads;')
    access_log off;
    client_body_temp_path $W/ngxslow/body;
    proxy_temp_path $W/ngxslow/proxy;
    fastcgi_temp_path $W/ngxslow/fastcgi;
    uwsgi_temp_path $W/ngxslow/uwsgi;
    scgi_temp_path $W/ngxslow/scgi;
    server {
        listen 127.0.0.1:${PORT[slow]};
        root $W/slow/www;
    }
}
EOF
    done
}
slow_run() {           # slow_run VARIANT NCOLD ROUND: one mix on a fresh mount (cold caches)
    local v=$1 n=$2 r=$3 out=$W/slow.$1.$2.$3.out i paths=() line e=0 k
    slow_prepare
    /usr/bin/python3 "$TOP/tests/integration/slowfs.py" "$W/slow/src" "$SLOW_MNT" "$SLOW_DELAY" \
        > "$W/slowfs.log" 2>&1 < /dev/null &
    SLOWFS_PID=$!
    for i in $(seq 100); do slow_mounted && break; kill -0 "$SLOWFS_PID" 2>/dev/null || break; sleep 0.1; done
    slow_mounted || { echo "bench.sh: the slow filesystem did not mount: $(tail -1 "$W/slowfs.log")" >&2; slow_cleanup; exit 4; }
    start_server "$v" || { slow_cleanup; exit 1; }
    for i in $(seq "$n"); do paths+=("/slow/cold$i.bin"); done
    timeout 200 python3 "$TOP/bench/slowmix.py" 127.0.0.1 "${PORT[slow]}" /hot.html 10 180 "${paths[@]}" > "$out" 2>&1 || e=1
    line=$(grep '^hot_n' "$out")
    if [ -z "$line" ]; then
        echo " [$v slow mix $n round $r produced no result: $(tail -1 "$out")]" >&2; e=1
    else
        set -- $line
        while [ $# -ge 2 ]; do
            case $1 in hot_worst_ms|hot_p99_ms|cold_MiB/s|cold_wall_ms) rec "$v" "s$n" "$1" "$2";; esac
            shift 2
        done
    fi
    rec "$v" "s$n" errors "$e"
    [[ $v == hs* ]] && HS_ERRORS=$((HS_ERRORS + e))
    k=${PID[$v]:-}
    if [ -n "$k" ] && ! kill -0 "$k" 2>/dev/null; then echo "bench.sh: $v died during the slow mix" >&2; [[ $v == hs* ]] && exit 2; fi
    stop_server "$v"
    declare -F slow_cleanup > /dev/null && slow_cleanup
    printf . >&2
}

GAP=0.5
printf '  running' >&2
if [ "${ORDER[0]}" = d ]; then
    for r in $(seq "$ROUNDS"); do
        for s in "${SERVERS[@]}"; do takes_part "$s" d && run_idle "$s"; done
    done
fi
SLOW_SKIP=""
[[ " ${ORDER[*]} " == *" s "* ]] && { SLOW_SKIP=$(slow_unavailable) || SLOW_SKIP=""; }
[ -n "$SLOW_SKIP" ] && echo " [case s skipped: $SLOW_SKIP]" >&2
for r in $(seq "$ROUNDS"); do
    for c in "${ORDER[@]}"; do
        [ "$c" = d ] && continue
        if [ "$c" = s ]; then
            [ -n "$SLOW_SKIP" ] && continue
            for n in ${SLOW_COLD//,/ }; do
                for v in "${SLOW_VARIANTS[@]}"; do slow_run "$v" "$n" "$r"; done
            done
            continue
        fi
        for s in "${SERVERS[@]}"; do
            takes_part "$s" "$c" || continue
            run_load "$s" "$c" "$r"; sleep $GAP
        done
    done
done
echo >&2

# ------------------------------------------------------------------ report
stats() {        # stats SERVER CASE METRIC -> "median min max"
    awk -v s="$1" -v c="$2" -v m="$3" '$1 == s && $2 == c && $3 == m && $4 != "" {print $4}' "$RES" | sort -g |
        awk '{v[NR] = $1} END {if (NR == 0) {print "- - -"; exit}
                               print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR]}'
}
title() { case $1 in a) echo "a keep-alive 1k (wrk -c100)";; p) echo "p pipelined x$PIPE_DEPTH 1k (wrk -c100)";;
                     b) echo "b conn/request 1k (ab -c100)";; c) echo "c 100 MiB file (wrk -c4)";;
                     m) echo "m 1 MiB file (wrk -c4)";; d) echo "d $IDLE_N idle keep-alive";;
                     s*) echo "s slow disk, ${1#s} cold x 2 MiB";; esac; }
name_of() { case $1 in hs) echo HttpServer;; hsp) echo "HttpServer pool $SLOW_POOL";; hs0) echo "HttpServer pool 0";;
                       ngx) echo "nginx";; ngxaio) echo "nginx aio threads";; *) echo "$1";; esac; }
table() {        # table CASE... : one row per metric; columns for COLS, ratios of the first to the others
    local c m label line v med lo hi first x
    line=$(printf '%-31s %-13s' case metric)
    for x in "${COLS[@]}"; do line+=$(printf ' %-25s' "$(name_of "$x")"); done
    for x in "${COLS[@]:1}"; do line+=$(printf ' %-8s' "/$x"); done
    echo "$line"
    for c in "$@"; do
        label=$(title "$c")
        for m in $(awk -v c="$c" '$2 == c && !seen[$3]++ {print $3}' "$RES"); do
            line=$(printf '%-31s %-13s' "$label" "$m")
            first=""
            for x in "${COLS[@]}"; do
                read -r med lo hi <<< "$(stats "$x" "$c" "$m")"
                [ -z "$first" ] && first=$med
                v="$med [$lo..$hi]"; [ "$med" = - ] && v=-
                line+=$(printf ' %-25s' "$v")
                eval "MED_$x=\$med"
            done
            for x in "${COLS[@]:1}"; do
                eval "v=\$MED_$x"
                line+=$(printf ' %-8s' "$(awk -v a="$first" -v b="$v" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}')")
            done
            echo "$line"
            label=""
        done
    done
}
echo
LOAD_CASES=()
for c in "${ORDER[@]}"; do [ "$c" != s ] && LOAD_CASES+=("$c"); done
if [ ${#LOAD_CASES[@]} -gt 0 ]; then
    COLS=("${SERVERS[@]}")
    table "${LOAD_CASES[@]}"
    echo "(ratios = HttpServer/column; req/s, MiB/s higher is better; p99_ms, cpu_us/*, errors, bytes/conn lower is better;"
    echo " floor_server answers only cases a, p and b)"
fi
if [[ " ${ORDER[*]} " == *" s "* ]] && [ -z "$SLOW_SKIP" ]; then
    echo
    echo "slow disk: ${SLOW_DELAY} ms per getattr/open/read (FUSE), one worker each, hot-file client every 10 ms"
    COLS=("${SLOW_VARIANTS[@]}")
    SLOW_CASES=()
    for n in ${SLOW_COLD//,/ }; do SLOW_CASES+=("s$n"); done
    table "${SLOW_CASES[@]}"
    echo "(hot_*_ms: the keep-alive hot-file client's latency; cold_MiB/s: bytes of all cold downloads / their wall time)"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$HS_ERRORS" -gt 0 ]; then echo "RESULT: HttpServer had $HS_ERRORS errors under load"; exit 2; fi
echo "RESULT: ok"
