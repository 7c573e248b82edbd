#!/usr/bin/env bash
# bench.sh - ./HttpServer side by side with nginx on this machine, rounds interleaved
# (HttpServer, nginx, HttpServer, nginx, ...) so that drift hits both alike.
#
# Usage: bench/bench.sh [--quick] [--rounds N] [--duration S] [--ab-n N] [--cases a,b,c,d]
#   --quick       2 s wrk runs, ab -n 5000 (3 rounds, about 1 minute)
#   --rounds N    rounds per case (default 3); the table shows median [min..max]
#   --duration S  seconds per wrk run (default 10; the full default run takes about 3 minutes)
#   --ab-n N      requests per ab run (default 20000)
#   --cases LIST  any of (default all):
#                   a  keep-alive 1 KiB:         wrk -t1 -c100 --latency /1k.bin
#                   b  connection per request:   ab -n N -c 100 /1k.bin (HTTP/1.0, no -k)
#                   c  100 MiB file:             wrk -t1 -c4 /100m.bin
#                   d  10000 idle keep-alive connections: RSS growth per connection, summed
#                      over the server's processes (each round on freshly started servers)
# Metrics: req/s or MiB/s, p99 latency, errors, and server CPU time (utime+stime of every
# process of the server, from /proc/PID/stat) per request or per MiB - the steadiest figure,
# since the load generator shares the cores. Ratio = HttpServer/nginx of the medians.
# Exit status: 0 ok, 1 a server failed to start or to serve 1k.bin byte-identically,
# 2 HttpServer had errors under load or died, 4 usage or environment problem.
# Only 127.0.0.1 is used; every load command runs under `timeout`.

set -u
export LC_ALL=C

ROUNDS=3 DUR=10 ABN=20000 CASES=a,b,c,d IDLE_N=10000
while [ $# -gt 0 ]; do
    case $1 in
        --quick) DUR=2 ABN=5000; shift;;
        --rounds) ROUNDS=$2; shift 2;;
        --duration) DUR=$2; shift 2;;
        --ab-n) ABN=$2; shift 2;;
        --cases) CASES=$2; shift 2;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0;;
        *) echo "bench.sh: unknown option $1 (try --help)" >&2; exit 4;;
    esac
done
for v in "$ROUNDS" "$DUR" "$ABN"; do [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: '$v' is not a positive integer" >&2; exit 4; }; done
IFS=, read -r -a CASE_LIST <<< "$CASES"
ORDER=()                             # d first: it restarts the servers, so the load cases then run on fresh ones
for c in d a b c; do [[ ",$CASES," == *",$c,"* ]] && ORDER+=("$c"); done
for c in "${CASE_LIST[@]}"; do [[ $c =~ ^[abcd]$ ]] || { echo "bench.sh: unknown case '$c'" >&2; exit 4; }; done

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
    [ ${#pkgs[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || { echo "bench.sh: missing ${pkgs[*]}; install them or run as root" >&2; exit 4; }
    echo "installing ${pkgs[*]} ..." >&2
    if [ ! -e /usr/sbin/policy-rc.d ]; then   # keep the nginx package from starting a service on :80
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
HZ=$(getconf CLK_TCK)

# ------------------------------------------------------------------ scratch dir, servers
W=$(mktemp -d /tmp/hsbench.XXXXXX) || exit 4
chmod 755 "$W"                       # workers of both servers run as nobody when started as root
declare -A PID=() PORT=()
IDLE_PID=""

port_busy() { [ -n "$(ss -Hltn "( sport = :$1 )")" ]; }
p=28080; while port_busy $p || port_busy $((p + 1)); do p=$((p + 2)); done
PORT[hs]=$p PORT[nginx]=$((p + 1))

tree_pids() {    # tree_pids PID: PID and all its descendants
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p; while (q != "" && q != root && q > 1) q = parent[q]; if (q == root) print p } }'
}
cpu_us() {       # utime+stime of the whole server, in microseconds
    local t=0 p line f
    for p in $(tree_pids "$1"); do
        { read -r line < "/proc/$p/stat"; } 2>/dev/null || continue
        f=(${line##*) })                 # fields from 3 (state) on; utime is 14, stime 15
        t=$((t + f[11] + f[12]))
    done
    echo $((t * 1000000 / HZ))
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

start_server() { # start_server hs|nginx
    local name=$1 i
    if [ "$name" = hs ]; then
        "$BIN" 127.0.0.1 "${PORT[hs]}" 2 10000 --root "$W/www" --access-log off > "$W/hs.log" 2>&1 < /dev/null &
    else
        nginx -p "$W/nginx/" -c "$W/nginx/nginx.conf" -g 'daemon off;' > "$W/nginx.log" 2>&1 < /dev/null &
    fi
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
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 30); do kill -0 $kids 2>/dev/null || break; sleep 0.1; done
    kill -KILL $kids 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "PID[$name]"
}
cleanup() {
    [ -n "$IDLE_PID" ] && { kill "$IDLE_PID" 2>/dev/null; wait "$IDLE_PID" 2>/dev/null; }
    stop_server hs; stop_server nginx
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ header and checks
echo "bench.sh  $(date '+%F %T %Z')  nproc $(nproc)  kernel $(uname -r)  RLIMIT_NOFILE $NOFILE"
echo "  $("$BIN" -V 2>&1 | head -1) | $(nginx -v 2>&1 | sed 's/^nginx version: //') | wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}')" \
     "| ab $(ab -V | awk 'NR==1 {print $5}') | $(curl -V | awk 'NR==1 {print $1, $2}') | $(python3 -V)"
echo "  HttpServer 127.0.0.1:${PORT[hs]} 2 workers x 10000 conns --access-log off"
echo "  nginx      127.0.0.1:${PORT[nginx]} 2 workers, sendfile, tcp_nopush, access_log off, keepalive_requests 100000"
echo "  rounds $ROUNDS, wrk ${DUR}s, ab -n $ABN, cases $CASES"

start_server hs || exit 1
start_server nginx || exit 1
for s in hs nginx; do
    curl -s --max-time 5 -o "$W/$s.1k" "http://127.0.0.1:${PORT[$s]}/1k.bin"
    cmp -s "$W/$s.1k" "$W/www/1k.bin" || { echo "bench.sh: $s does not serve 1k.bin byte-identically" >&2; exit 1; }
done
echo "  both servers serve 1k.bin byte-identically"

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
        b) timeout 300 ab -r -s 10 -n "$ABN" -c 100 "$u/1k.bin" > "$out" 2>&1;;
        c) timeout $((DUR + 30)) wrk -t1 -c4 -d"${DUR}s" --timeout 10s --latency "$u/100m.bin" > "$out" 2>&1;;
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
        if [ "$c" = a ]; then
            rec "$s" a req/s "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
        else
            rec "$s" c MiB/s "$(to_mib "$(awk '/^Transfer\/sec:/ {print $2}' "$out")")"
        fi
        rec "$s" "$c" p99_ms "$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")"
    fi
    if [ -z "$n" ] || [ "$n" = 0 ]; then
        echo " [$s case $c round $r produced no result: $(grep -v '^$' "$out" | tail -1)]" >&2
        e=$((${e:-0} + 1))
    elif [ "$c" = c ]; then
        rec "$s" c cpu_us/MiB "$(awk -v d=$((c1 - c0)) -v m="$(to_mib "$(awk '/ requests in / {print $5}' "$out")")" \
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

GAP=0.5
printf '  running' >&2
if [ "${ORDER[0]}" = d ]; then
    for r in $(seq "$ROUNDS"); do run_idle hs; run_idle nginx; done
fi
for r in $(seq "$ROUNDS"); do
    for c in "${ORDER[@]}"; do
        [ "$c" = d ] && continue
        run_load hs "$c" "$r"; sleep $GAP
        run_load nginx "$c" "$r"; sleep $GAP
    done
done
echo >&2

# ------------------------------------------------------------------ report
stats() {        # stats SERVER CASE METRIC -> "median min max"
    awk -v s="$1" -v c="$2" -v m="$3" '$1 == s && $2 == c && $3 == m && $4 != "" {print $4}' "$RES" | sort -g |
        awk '{v[NR] = $1} END {if (NR == 0) {print "- - -"; exit}
                               print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR]}'
}
title() { case $1 in a) echo "a keep-alive 1k (wrk -c100)";; b) echo "b conn/request 1k (ab -c100)";;
                     c) echo "c 100 MiB file (wrk -c4)";; d) echo "d $IDLE_N idle keep-alive";; esac; }
echo
printf '%-29s %-14s %-30s %-30s %s\n' case metric "HttpServer med [min..max]" "nginx med [min..max]" ratio
for c in "${ORDER[@]}"; do
    label=$(title "$c")
    for m in $(awk -v c="$c" '$2 == c && !seen[$3]++ {print $3}' "$RES"); do
        read -r hm hl hh <<< "$(stats hs "$c" "$m")"
        read -r nm nl nh <<< "$(stats nginx "$c" "$m")"
        ratio=$(awk -v a="$hm" -v b="$nm" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b}')
        printf '%-29s %-14s %-30s %-30s %s\n' "$label" "$m" "$hm [$hl..$hh]" "$nm [$nl..$nh]" "$ratio"
        label=""
    done
done
echo "(ratio = HttpServer/nginx; req/s, MiB/s higher is better; p99_ms, cpu_us/*, errors, bytes/conn lower is better)"

if [ "$HS_ERRORS" -gt 0 ]; then echo "RESULT: HttpServer had $HS_ERRORS errors under load"; exit 2; fi
echo "RESULT: ok"
