#!/usr/bin/env bash
# Adds up the suites `make test` ran (tests/run_suite.sh left NAME.log and NAME.status in LOGDIR):
# summary.sh LOGDIR SUITE... Prints one closing line "tests: N passed, N failed, N skipped", with
# why tests were skipped and which suites failed, and exits non-zero on any failure.
set -u
dir=$1
shift
passed=0 failed=0 skipped=0 broken=()
reasons=$(mktemp)
trap 'rm -f "$reasons"' EXIT
for suite in "$@"; do
  log="$dir/$suite.log"
  status=$(cat "$dir/$suite.status" 2>/dev/null || echo "no status")
  [ -f "$log" ] || { broken+=("$suite: no log"); continue; }
  p=$(grep -oE '^\[  PASSED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  s=$(grep -oE '^\[  SKIPPED \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) skipped=$((skipped + ${s:-0}))
  [ "$status" = 0 ] || [ "${f:-0}" -gt 0 ] || broken+=("$suite exited with status $status")
  # GoogleTest prints "file:line: Skipped" and then the reason on the next line.
  awk '/: Skipped$/ { getline r; print (r == "" ? "no reason given" : r) }' "$log" >>"$reasons"
done
why=$(sort "$reasons" | uniq -c | sort -rn | sed -E 's/^ *([0-9]+) (.*)/\1 x \2/' | paste -sd';' - |
      sed 's/;/; /g')
line="tests: $passed passed, $failed failed, $skipped skipped"
[ -n "$why" ] && line="$line (skipped: $why)"
# Sanitized builds write each report to a file there (see the Makefile's SAN_ENV).
reports=$(find "$dir/sanitizer" -type f 2>/dev/null | sort)
[ -z "$reports" ] || broken+=("$(echo "$reports" | wc -l) sanitizer reports: $(echo $reports)")
for b in "${broken[@]}"; do line="$line; $b"; done
echo "$line"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
