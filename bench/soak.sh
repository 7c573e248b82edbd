#!/usr/bin/env bash
# soak.sh - mixed traffic against ./HttpServer (2 workers x 1000 connections) until SOAK_REQUESTS
# requests (default 1000000) have been answered or SOAK_SECONDS (default 600) have passed.
#
# Three clients run in parallel on 127.0.0.1:
#   wrk -t1 -c40   keep-alive, rotating GET /small.txt, GET /1m.bin, GET /missing (404),
#                  HEAD /empty.txt and a Range GET of /1m.bin (wrk 4.1 waits for a HEAD body
#                  when Content-Length > 0, so the HEAD of a non-empty file is checked by
#                  the python loop: HEAD then GET on one connection)
#   ab -c 20       one connection per request (HTTP/1.0) for /index.html
#   python loop    malformed requests, oversized heads, half-closed and reset connections
# The load runs in epochs (up to 10 s, shorter for short runs, so that there are ~12 samples);
# after each epoch every server process is sampled: open fds, VmRSS, zombie children, pids.
# PASS when no process died or was replaced, fds (<= +2) and RSS (<= +1 MiB) of every process
# are flat from the first sample after 10% of the requests to the last, no zombie appeared,
# wrk and ab got a response to every request with non-2xx only for the deliberate 404s, and
# every malformed request was refused (4xx, 501, 505 or a close) without hanging. Else FAIL, exit 1.
# Requests are counted from the wrk and ab summaries.

set -u
export LC_ALL=C

SOAK_REQUESTS=${SOAK_REQUESTS:-1000000}
SOAK_SECONDS=${SOAK_SECONDS:-600}
WRK_CONNS=40 AB_CONNS=20
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=$TOP/HttpServer
[ -x "$BIN" ] || { echo "soak.sh: $BIN not found; run make first" >&2; exit 4; }
for t in wrk ab curl python3 ss; do
    command -v $t >/dev/null || { echo "soak.sh: $t is missing (bench/bench.sh installs it)" >&2; exit 4; }
done

W=$(mktemp -d /tmp/hssoak.XXXXXX) || exit 4
chmod 755 "$W"                       # workers run as nobody when started as root
MASTER="" BAD_PID=""
cleanup() {
    [ -n "$BAD_PID" ] && { kill "$BAD_PID" 2>/dev/null; wait "$BAD_PID" 2>/dev/null; }
    if [ -n "$MASTER" ]; then
        local kids i; kids=$(tree_pids "$MASTER")
        kill -TERM "$MASTER" 2>/dev/null
        for i in $(seq 30); do kill -0 $kids 2>/dev/null || break; sleep 0.1; done
        kill -KILL $kids 2>/dev/null
        wait "$MASTER" 2>/dev/null
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tree_pids() {    # tree_pids PID: PID and all its descendants, sorted
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END { for (p in parent) { q = p; while (q != "" && q != root && q > 1) q = parent[q]; if (q == root) print p } }' | sort -n
}

# ------------------------------------------------------------------ docroot, server
mkdir -p "$W/www"
echo '<!DOCTYPE html><html><head><title>soak</title></head><body><p>soak test</p></body></html>' > "$W/www/index.html"
echo 'a small text file' > "$W/www/small.txt"
: > "$W/www/empty.txt"
head -c $((1 << 20)) /dev/urandom > "$W/www/1m.bin"

p=28180; while [ -n "$(ss -Hltn "( sport = :$p )")" ]; do p=$((p + 1)); done
PORT=$p U=http://127.0.0.1:$PORT
ulimit -n "$(ulimit -Hn)" 2>/dev/null
"$BIN" 127.0.0.1 "$PORT" 2 1000 --root "$W/www" --access-log off --error-log "$W/error.log" > "$W/server.out" 2>&1 < /dev/null &
MASTER=$!
for i in $(seq 50); do curl -s -o /dev/null --max-time 1 "$U/index.html" && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$U/small.txt")" = 200 ] ||
    { echo "soak.sh: HttpServer did not start"; cat "$W/server.out"; exit 1; }
sleep 0.3
PIDS0=$(tree_pids "$MASTER" | tr '\n' ' ')

# ------------------------------------------------------------------ clients
cat > "$W/mix.lua" <<'EOF'
-- Rotates five requests; counts the 404s it asks for so the summary can be checked.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
    n, issued404 = 0, 0
    reqs = {
        wrk.format("GET", "/small.txt"),
        wrk.format("GET", "/1m.bin"),
        wrk.format("GET", "/missing-file"),
        wrk.format("HEAD", "/empty.txt"),
        wrk.format("GET", "/1m.bin", { Range = "bytes=1000-9999" }),
    }
end
function request()
    n = n + 1
    local i = n % #reqs + 1
    if i == 3 then issued404 = issued404 + 1 end
    return reqs[i]
end
function done(summary, latency, requests)
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get("issued404") end
    io.write(string.format("issued404 %d\n", total))
end
EOF

cat > "$W/bad.py" <<'EOF'
# Sends malformed requests one connection at a time until SIGTERM; writes a summary at exit.
import signal, socket, struct, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
BIG = b"x" * 70000
CASES = [  # (name, bytes, how, expect)  how: send | halfclose | all | reset | close   expect: refuse | 200
    ("garbage", b"GARBAGE\r\n\r\n", "send", "refuse"),
    ("binary", b"\x00\x01\x02\xff\xfe\r\n\r\n", "send", "refuse"),
    ("no colon", b"GET /small.txt HTTP/1.1\r\nHost x\r\n\r\n", "send", "refuse"),
    ("bad version", b"GET /small.txt HTTP/9.9\r\nHost: x\r\n\r\n", "send", "refuse"),
    ("no host", b"GET /small.txt HTTP/1.1\r\n\r\n", "send", "refuse"),
    ("long uri", b"GET /" + BIG + b" HTTP/1.1\r\nHost: x\r\n\r\n", "send", "refuse"),
    ("long header", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + BIG + b"\r\n\r\n", "send", "refuse"),
    ("dot-dot", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "send", "refuse"),
    ("bad chunk", b"POST /small.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "send", "refuse"),
    ("space before colon", b"GET /small.txt HTTP/1.1\r\nHost : x\r\n\r\n", "send", "refuse"),
    ("half-closed head", b"GET /small.txt HTTP/1.1\r\nHost: x\r\n", "halfclose", "refuse"),
    ("half-closed request", b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n", "halfclose", "200"),
    ("HEAD then GET", b"HEAD /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "all", "200"),
    ("reset mid-head", b"GET /1m.bin HTTP/1.1\r\nHo", "reset", "none"),
    ("connect and close", b"", "close", "none"),
]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

def run(i, payload, how):
    s = socket.socket()
    try:
        s.setsockopt(socket.IPPROTO_IP, 24, 1)               # IP_BIND_ADDRESS_NO_PORT
        s.bind(("127.0.2.%d" % (1 + i % 250), 0))             # spread TIME_WAIT over many addresses
        s.settimeout(12)
        s.connect(("127.0.0.1", port))
        if how == "close":
            return "none"
        if how == "reset":
            s.sendall(payload)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return "none"
        try:
            s.sendall(payload)
            if how == "halfclose":
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass                                               # refused before reading it all
        data = b""
        if how == "all":                                       # both responses, then the close
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            ok = data.count(b"HTTP/1.1 200") == 2 and data.endswith(b"\r\n\r\na small text file\n")
            return "200" if ok else "bad HEAD/GET pair"
        while b"\r\n" not in data:
            d = s.recv(4096)
            if not d:
                return "closed"
            data += d
        return data.split(b" ", 2)[1].decode("ascii", "replace")
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    finally:
        s.close()

counts, unexpected, i = {}, [], 0
while not stop:
    name, payload, how, expect = CASES[i % len(CASES)]
    got = run(i, payload, how)
    i += 1
    counts[got] = counts.get(got, 0) + 1
    if expect == "refuse":
        ok = got in ("closed", "reset", "501", "505") or (got.isdigit() and 400 <= int(got) < 500)
    else:
        ok = got == expect or (expect == "none" and got in ("closed", "reset"))
    if not ok:
        unexpected.append("%s -> %s" % (name, got))
    time.sleep(0.002)
with open(out, "w") as f:
    f.write("bad_total %d\nbad_unexpected %d\nbad_timeouts %d\n" % (i, len(unexpected), counts.get("timeout", 0)))
    f.write("bad_outcomes %s\n" % " ".join("%s:%d" % kv for kv in sorted(counts.items())))
    for u in unexpected[:5]:
        f.write("bad_example %s\n" % u)
EOF
python3 "$W/bad.py" "$PORT" "$W/bad.out" 2> "$W/bad.err" &
BAD_PID=$!

# ------------------------------------------------------------------ epochs and samples
SAMPLES=$W/samples; : > "$SAMPLES"
TOTAL=0 WRK_ERR=0 NON2XX=0 ISSUED404=0 AB_FAILED=0 AB_NON2XX=0 N=0
START=$(date +%s)

sample() {       # one line: index elapsed total zombies pids-unchanged(1/0) then fds rss per process
    local now pids z line p fds rss
    now=$(( $(date +%s) - START ))
    pids=$(tree_pids "$MASTER" | tr '\n' ' ')
    z=$(ps -o stat= --ppid "$MASTER" | grep -c Z)
    line="$N $now $TOTAL $z $([ "$pids" = "$PIDS0" ] && echo 1 || echo 0)"
    for p in $PIDS0; do
        fds=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        line="$line $fds ${rss:--1}"
    done
    echo "$line" >> "$SAMPLES"
    N=$((N + 1))
}

epoch() {        # epoch SECONDS: wrk and ab side by side; adds their counts
    local d=$1
    timeout $((d + 30)) wrk -t1 -c$WRK_CONNS -d"${d}s" --timeout 10s -s "$W/mix.lua" "$U/" > "$W/wrk.out" 2>&1 &
    local wrk_pid=$!
    timeout $((d + 30)) ab -r -s 10 -t "$d" -n $((d * 100000)) -c $AB_CONNS "$U/index.html" > "$W/ab.out" 2>&1
    wait $wrk_pid
    local w a
    w=$(awk '/ requests in / {print $1}' "$W/wrk.out"); a=$(awk '/^Complete requests:/ {print $3}' "$W/ab.out")
    [ -n "$w" ] || { echo "wrk failed: $(tail -2 "$W/wrk.out")" >&2; WRK_ERR=$((WRK_ERR + 1)); }
    [ -n "$a" ] || { echo "ab failed: $(tail -2 "$W/ab.out")" >&2; AB_FAILED=$((AB_FAILED + 1)); }
    TOTAL=$((TOTAL + ${w:-0} + ${a:-0}))
    WRK_ERR=$((WRK_ERR + $(awk '/Socket errors:/ {gsub(/,/, ""); t += $4 + $6 + $8 + $10} END {print t + 0}' "$W/wrk.out")))
    NON2XX=$((NON2XX + $(awk '/Non-2xx or 3xx/ {t += $5} END {print t + 0}' "$W/wrk.out")))
    ISSUED404=$((ISSUED404 + $(awk '/^issued404/ {t += $2} END {print t + 0}' "$W/wrk.out")))
    AB_FAILED=$((AB_FAILED + $(awk '/^Failed requests:/ {t += $3} END {print t + 0}' "$W/ab.out")))
    AB_NON2XX=$((AB_NON2XX + $(awk '/^Non-2xx responses:/ {t += $3} END {print t + 0}' "$W/ab.out")))
    LAST_RATE=$(( (${w:-0} + ${a:-0}) / d ))
    sleep 0.5                        # let the clients' closes reach the server before sampling
}

echo "soak.sh  $(date '+%F %T %Z')  nproc $(nproc)  HttpServer 127.0.0.1:$PORT 2 workers x 1000 conns, pids $PIDS0"
echo "  target $SOAK_REQUESTS requests within $SOAK_SECONDS s: wrk -c$WRK_CONNS keep-alive mix + ab -c$AB_CONNS + malformed requests"
sample
epoch 2                              # warm-up epoch; its rate sizes the others
sample
RATE=$((LAST_RATE > 0 ? LAST_RATE : 1))
PLANNED=$((SOAK_REQUESTS / RATE)); [ $PLANNED -gt "$SOAK_SECONDS" ] && PLANNED=$SOAK_SECONDS
LEN=$((PLANNED / 12)); [ $LEN -lt 1 ] && LEN=1; [ $LEN -gt 10 ] && LEN=10
MARK100K=""
while :; do
    elapsed=$(( $(date +%s) - START ))
    [ "$TOTAL" -ge "$SOAK_REQUESTS" ] || [ $elapsed -ge "$SOAK_SECONDS" ] && break
    d=$LEN
    left=$(( (SOAK_REQUESTS - TOTAL + RATE - 1) / RATE )); [ $left -lt $d ] && d=$left
    [ $((SOAK_SECONDS - elapsed)) -lt $d ] && d=$((SOAK_SECONDS - elapsed))
    [ $d -lt 1 ] && d=1
    before=$TOTAL
    epoch $d
    [ $LAST_RATE -gt 0 ] && RATE=$LAST_RATE
    sample
    [ -z "$MARK100K" ] && [ "$before" -lt 100000 ] && [ "$TOTAL" -ge 100000 ] && MARK100K=$((N - 1))
    printf . >&2
done
echo >&2
kill "$BAD_PID" 2>/dev/null; wait "$BAD_PID" 2>/dev/null; BAD_PID=""
FINAL_CODE=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$U/small.txt")

# ------------------------------------------------------------------ report and verdict
printf '\n%4s %6s %10s %7s %5s' "#" "t(s)" requests zombies pids
for p in $PIDS0; do printf ' %18s' "pid $p fds/RSSkB"; done; echo
awk -v m="${MARK100K:--1}" '{ printf "%4s %6s %10s %7s %5s", $1 ($1 == m ? "*" : ""), $2, $3, $4, ($5 ? "same" : "CHANGED")
                              for (i = 6; i < NF; i += 2) printf " %18s", $i "/" $(i + 1); print "" }' "$SAMPLES"
[ -n "$MARK100K" ] && echo "(* = first sample at or after 100k requests)"

FAIL=()
BASE=$(awk -v t="$TOTAL" 'NR > 1 && $3 >= t / 10 {print NR; exit}' "$SAMPLES")
WINDOW=$(awk -v b="${BASE:-0}" 'NR >= b' "$SAMPLES" | wc -l)
FLAT=$(awk -v b="${BASE:-0}" 'NR == b {for (i = 6; i <= NF; i++) base[i] = $i}
        NR >= b {last = $0} END {
            n = split(last, f, " "); msg = ""
            for (i = 6; i <= n; i += 2) {
                if (f[i] - base[i] > 2) msg = msg sprintf(" process %d: fds %d -> %d;", (i - 4) / 2, base[i], f[i])
                if (f[i + 1] - base[i + 1] > 1024) msg = msg sprintf(" process %d: RSS %d -> %d kB;", (i - 4) / 2, base[i + 1], f[i + 1])
            }
            print msg }' "$SAMPLES")
awk '$5 == 0 {bad = 1} END {exit !bad}' "$SAMPLES" && FAIL+=("a server process died or was replaced")
awk '$4 > 0 {bad = 1} END {exit !bad}' "$SAMPLES" && FAIL+=("zombie children seen")
[ -n "$FLAT" ] && FAIL+=("not flat from sample $((BASE - 1)) to the end:$FLAT")
[ "$WRK_ERR" -gt 0 ] && FAIL+=("wrk socket errors: $WRK_ERR")
[ "$NON2XX" -gt "$ISSUED404" ] || [ "$NON2XX" -lt $((ISSUED404 - WRK_CONNS * N)) ] &&
    FAIL+=("wrk non-2xx $NON2XX does not match the $ISSUED404 404s it asked for")
[ "$AB_FAILED" -gt 0 ] || [ "$AB_NON2XX" -gt 0 ] && FAIL+=("ab: $AB_FAILED failed, $AB_NON2XX non-2xx")
[ "$FINAL_CODE" = 200 ] || FAIL+=("GET /small.txt after the soak -> $FINAL_CODE")
if [ -s "$W/bad.out" ]; then
    read -r _ BAD_TOTAL <<< "$(grep '^bad_total' "$W/bad.out")"
    read -r _ BAD_UNEXP <<< "$(grep '^bad_unexpected' "$W/bad.out")"
    [ "$BAD_UNEXP" -gt 0 ] && FAIL+=("$BAD_UNEXP malformed requests were not refused: $(grep '^bad_example' "$W/bad.out" | cut -d' ' -f2- | tr '\n' ';')")
else
    BAD_TOTAL=0; FAIL+=("the malformed-request client failed: $(tail -1 "$W/bad.err")")
fi

echo
echo "requests: $TOTAL in $(( $(date +%s) - START )) s (wrk + ab); wrk socket errors $WRK_ERR, non-2xx $NON2XX" \
     "(404s asked for: $ISSUED404); ab failed $AB_FAILED, non-2xx $AB_NON2XX"
echo "malformed: $BAD_TOTAL connections; $(grep '^bad_outcomes' "$W/bad.out" 2>/dev/null | cut -d' ' -f2-)"
echo "flatness window: samples $((${BASE:-1} - 1))..$((N - 1)) ($WINDOW samples; fds +2, RSS +1024 kB allowed per process)"
[ "$TOTAL" -lt "$SOAK_REQUESTS" ] && echo "note: SOAK_SECONDS ran out after $TOTAL of $SOAK_REQUESTS requests"
[ "${WINDOW:-0}" -lt 3 ] && echo "note: fewer than 3 samples in the window; raise SOAK_REQUESTS for a meaningful trend"
if [ ${#FAIL[@]} -eq 0 ]; then
    echo "VERDICT: PASS"
else
    printf 'VERDICT: FAIL\n'; printf '  - %s\n' "${FAIL[@]}"
    [ -s "$W/error.log" ] && { echo "error log tail:"; grep -v '\[info\]' "$W/error.log" | tail -5; }
    exit 1
fi
