#!/usr/bin/env bash
# Adds up the GoogleTest results of the suites `make test` ran: summary.sh LOGDIR SUITE...
# Prints one closing line "tests: N passed, N failed, N skipped" and exits non-zero on a failure.
set -u
dir=$1
shift
passed=0 failed=0 skipped=0
for suite in "$@"; do
  log="$dir/$suite.log"
  [ -f "$log" ] || { echo "summary: no log for suite '$suite'" >&2; exit 1; }
  p=$(grep -oE '^\[  PASSED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  s=$(grep -oE '^\[  SKIPPED \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) skipped=$((skipped + ${s:-0}))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
