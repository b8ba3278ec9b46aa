#!/usr/bin/env bash
# Sourced by test.sh: a real EventStoreDB for the test run, so the EventStoreDB tests run instead of skipping.
#
#   esdb_start   HEALTHEVENTS_ESDB set: use that server, start nothing. Else, when ../shared/eventstoredb exists
#                (or HEALTHEVENTS_ESDB_DIST names such a folder): start one in-memory node there on a free port and
#                export HEALTHEVENTS_ESDB. Else: nothing (the tests skip and say why). Returns 1 when a node was to
#                be started and did not come up: a broken server must fail the run, not silently skip the tests.
#   esdb_stop    stops the node esdb_start started (by the pid its start.sh recorded), if any; safe to call twice.
#
# The node's pid file and logs live in a private run folder (ESDB_RUN_ROOT for start.sh/stop.sh), so stopping
# needs nothing from start.sh's output and touches no other run's nodes, even when the start failed half-way.

ESDB_DIST="${HEALTHEVENTS_ESDB_DIST:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/eventstoredb}"
ESDB_OWN_RUN=""

esdb_start() {
  if [ -n "${HEALTHEVENTS_ESDB:-}" ]; then
    echo "==> EventStoreDB: using HEALTHEVENTS_ESDB (a server of your own)"
    return 0
  fi
  if [ ! -x "$ESDB_DIST/start.sh" ]; then
    echo "==> EventStoreDB: no server ($ESDB_DIST/start.sh missing, HEALTHEVENTS_ESDB unset): its tests will skip"
    return 0
  fi
  ESDB_OWN_RUN=$(mktemp -d "${TMPDIR:-/tmp}/he-test-esdb.XXXXXX")
  echo "==> EventStoreDB: starting one in-memory node from $ESDB_DIST"
  local conn
  if ! conn=$(ESDB_RUN_ROOT="$ESDB_OWN_RUN" "$ESDB_DIST/start.sh" | tail -1) || [ -z "$conn" ]; then
    echo "EventStoreDB did not start from $ESDB_DIST (its log tail is above)" >&2
    return 1
  fi
  # The node shares two cores with the whole suite: an append that waits past the official clients' 5 s deadline
  # there is a starved machine, not a frozen server (the tests that freeze a node set their own deadline).
  case "$conn" in *\?*) conn="$conn&defaultDeadline=30000" ;; *) conn="$conn?defaultDeadline=30000" ;; esac
  export HEALTHEVENTS_ESDB="$conn"
  echo "==> EventStoreDB: $HEALTHEVENTS_ESDB"
}

esdb_stop() {
  [ -n "$ESDB_OWN_RUN" ] || return 0
  local run port
  for run in "$ESDB_OWN_RUN"/eventstoredb-*; do
    [ -d "$run" ] || continue
    port=${run##*-}
    ESDB_RUN_ROOT="$ESDB_OWN_RUN" "$ESDB_DIST/stop.sh" --port "$port" || true
  done
  rm -rf "$ESDB_OWN_RUN"
  ESDB_OWN_RUN=""
}
