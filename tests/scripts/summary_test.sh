#!/usr/bin/env bash
# Checks what `make test` prints: tests/run_suite.sh's one progress line per suite and
# tests/summary.sh's closing line ("tests: N passed, N failed, N skipped (skipped: why)") and exit
# status, on canned GoogleTest logs: green suites with skips (with and without a reason), a failed
# test, a suite that crashed without a count, a suite without a log, a sanitizer report.
# Prints one line per check and a GoogleTest-shaped count, so the summary adds these up too.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
checks=0 failures=0

check() {  # check NAME EXPECTED ACTUAL
  checks=$((checks + 1))
  if [ "$2" == "$3" ]; then
    echo "ok   $1"
  else
    failures=$((failures + 1))
    printf 'FAIL %s\n     expected: %s\n     actual:   %s\n' "$1" "$2" "$3"
  fi
}

# Canned logs, as the test binaries print them with --gtest_brief=1.
cat >"$tmp/green.txt" <<'EOF'
tests/integration/Log_test.cc:40: Skipped
needs nginx (apt-get install nginx)
tests/integration/Log_test.cc:90: Skipped
needs nginx (apt-get install nginx)
[==========] 5 tests from 2 test suites ran. (12 ms total)
[  PASSED  ] 3 tests.
[  SKIPPED ] 2 tests.
EOF
cat >"$tmp/noreason.txt" <<'EOF'
tests/unit/Priv_test.cc:52: Skipped

[==========] 2 tests from 1 test suite ran. (1 ms total)
[  PASSED  ] 1 test.
[  SKIPPED ] 1 test.
EOF
cat >"$tmp/failed.txt" <<'EOF'
tests/unit/X_test.cc:10: Failure
Expected equality of these values:
  1
  2
[  FAILED  ] X.Breaks (0 ms)
[==========] 3 tests from 1 test suite ran. (1 ms total)
[  PASSED  ] 2 tests.
[  FAILED  ] 1 test, listed below:
[  FAILED  ] X.Breaks

 1 FAILED TEST
EOF
printf 'Segmentation fault\n' >"$tmp/crashed.txt"

# run_suite.sh NAME LOGDIR COMMAND: one progress line; the suite's exit status is passed on.
# The time a suite took is shown as "in N s".
suite() {  # suite NAME FIXTURE STATUS: runs a fake suite printing FIXTURE, exiting with STATUS
  local out rc
  out=$("$here/run_suite.sh" "$1" "$tmp/logs" bash -c "cat '$tmp/$2'; exit $3")
  rc=$?
  echo "$out" | sed -E 's/ in [0-9]+ s; log: / in N s; log: /'
  return $rc
}
line=$(suite green green.txt 0)
check "run_suite exit status of a green suite" 0 $?
check "progress line of a green suite" \
  "green        ok       3 passed, 0 failed, 2 skipped in N s; log: $tmp/logs/green.log" "$line"
line=$(suite noreason noreason.txt 0)
check "progress line with a skip" \
  "noreason     ok       1 passed, 0 failed, 1 skipped in N s; log: $tmp/logs/noreason.log" "$line"
line=$(suite failed failed.txt 1)
check "run_suite exit status of a failed suite" 1 $?
check "progress lines of a failed suite name the test" \
  "failed       FAILED (exit status 1) 2 passed, 1 failed, 0 skipped in N s; log: \
$tmp/logs/failed.log|             [  FAILED  ] X.Breaks (0 ms)|             [  FAILED  ] X.Breaks" \
  "$(echo "$line" | paste -sd'|' -)"
line=$(suite crashed crashed.txt 139)
check "progress line of a suite without counts" \
  "crashed      FAILED (exit status 139) 1 lines of output in N s; log: $tmp/logs/crashed.log" "$line"

# summary.sh LOGDIR SUITE...: the closing line and its exit status.
line=$("$here/summary.sh" "$tmp/logs" green noreason)
check "summary exit status when green" 0 $?
check "closing line: counts and every reason of a skip, most frequent first" \
  "tests: 4 passed, 0 failed, 3 skipped (skipped: 2 x needs nginx (apt-get install nginx); \
1 x no reason given)" "$line"
line=$("$here/summary.sh" "$tmp/logs" green)
check "closing line of one suite" \
  "tests: 3 passed, 0 failed, 2 skipped (skipped: 2 x needs nginx (apt-get install nginx))" "$line"
line=$("$here/summary.sh" "$tmp/logs" failed)
check "summary exit status with a failed test" 1 $?
check "closing line with a failed test" "tests: 2 passed, 1 failed, 0 skipped" "$line"
line=$("$here/summary.sh" "$tmp/logs" green crashed missing)
check "summary exit status with a crash and no log" 1 $?
check "closing line names the crashed suite and the missing log" \
  "tests: 3 passed, 0 failed, 2 skipped (skipped: 2 x needs nginx (apt-get install nginx)); \
crashed exited with status 139; missing: no log" "$line"
mkdir -p "$tmp/logs/sanitizer" && echo "heap-use-after-free" >"$tmp/logs/sanitizer/asan.42"
line=$("$here/summary.sh" "$tmp/logs" noreason)
check "summary exit status with a sanitizer report" 1 $?
check "closing line counts the sanitizer report" \
  "tests: 1 passed, 0 failed, 1 skipped (skipped: 1 x no reason given); 1 sanitizer reports: \
$tmp/logs/sanitizer/asan.42" "$line"

echo "[==========] $checks tests from summary_test ran."
echo "[  PASSED  ] $((checks - failures)) tests."
if [ "$failures" -gt 0 ]; then
  echo "[  FAILED  ] $failures tests, listed above"
  exit 1
fi
