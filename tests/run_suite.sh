#!/usr/bin/env bash
# Runs one suite for `make test`: run_suite.sh NAME LOGDIR COMMAND...
# The suite's output goes to LOGDIR/NAME.log and its exit status to LOGDIR/NAME.status; the
# terminal gets one progress line (and the names of failed tests). Exits with the suite's status;
# `make test` goes on to the next suite anyway and lets tests/summary.sh fail the run.
set -u
name=$1 dir=$2
shift 2
mkdir -p "$dir"
log="$dir/$name.log"
start=$SECONDS
"$@" >"$log" 2>&1
rc=$?
echo "$rc" >"$dir/$name.status"
secs=$((SECONDS - start))
count() { grep -oE "^\[  $1 *\] [0-9]+ test" "$log" | grep -oE '[0-9]+' | tail -1; }
if grep -qE '^\[==========\] [0-9]+ tests? from' "$log"; then
  p=$(count PASSED) f=$(count FAILED) s=$(count SKIPPED)
  line="${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
elif grep -q 'replayed [0-9]* inputs' "$log"; then
  n=$(grep -oE 'replayed [0-9]+ inputs' "$log" | awk '{ n += $2 } END { print n }')
  line="$(grep -c 'replayed' "$log") corpora, $n inputs replayed"
else
  line="$(grep -c . "$log") lines of output"
fi
[ "$rc" -eq 0 ] && verdict=ok || verdict="FAILED (exit status $rc)"
printf '%-12s %-8s %s in %d s; log: %s\n' "$name" "$verdict" "$line" "$secs" "$log"
grep -E '^\[  FAILED  \] [^0-9]' "$log" | sed 's/^/             /'
exit "$rc"
