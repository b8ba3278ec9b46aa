#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test project against
# private PostgreSQL instances the tests start themselves and against EventStoreDB: HEALTHEVENTS_ESDB's
# server, else a node started here from ../shared/eventstoredb and stopped on exit (also on failure),
# else those tests skip with the reason. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
HEALTHEVENTS_NEEDS_BROWSER=1 source scripts/prepare.sh || exit 1
set +e  # prepare.sh turns on errexit; here every test run must finish so the summary prints

source scripts/eventstoredb.sh
trap esdb_stop EXIT
trap 'exit 130' INT TERM  # through the EXIT trap: the node is stopped
esdb_start || exit 1

# The run goes in a process group of its own, awaited with `wait`: an interrupt (dotnet test shrugs off the first
# one) is then handled at once — the run's group is stopped, then the EXIT trap stops the node.
log=$(mktemp)
set -m
( dotnet test HealthEvents.sln -c "${HEALTHEVENTS_CONFIGURATION:-Release}" --no-build -nologo "$@" 2>&1 | tee "$log" ) &
run=$!
set +m
trap 'kill -TERM -- "-$run" 2>/dev/null; wait "$run"; exit 130' INT TERM
wait "$run"
status=$?  # pipefail: the status of dotnet test

# One closing line over all test projects.
awk '/(Passed|Failed|Skipped)! +- +Failed:/ {
       gsub(/,/, ""); for (i = 1; i <= NF; i++) {
         if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
