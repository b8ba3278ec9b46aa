#!/usr/bin/env bash
# ./run.sh            serve on http://127.0.0.1:5080 (HEALTHEVENTS_URLS overrides), data under .data/ (HEALTHEVENTS_DATA)
# ./run.sh VERB ...   run one verb of the service instead: token, verify, rebuild, endorser
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prepare.sh >&2
exec dotnet "src/Api/bin/${HEALTHEVENTS_CONFIGURATION:-Release}/net10.0/HealthEvents.Api.dll" "$@"
