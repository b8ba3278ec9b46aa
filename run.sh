#!/usr/bin/env bash
# ./run.sh            serve on http://127.0.0.1:5080 (HEALTHEVENTS_URLS overrides), data under .data/ (HEALTHEVENTS_DATA)
# ./run.sh VERB ...   run one verb of the service instead: serve, token, verify, rebuild, endorser, import (./run.sh --help lists them)
# Builds only when a source changed since the last build; then starts the built service directly.
set -euo pipefail
cd "$(dirname "$0")"
HEALTHEVENTS_BUILD=api source scripts/prepare.sh >&2
export HEALTHEVENTS_CLI_NAME=./run.sh  # how --help and errors name the command
exec dotnet "src/Api/bin/${HEALTHEVENTS_CONFIGURATION:-Release}/net10.0/HealthEvents.Api.dll" "$@"
