#!/usr/bin/env bash
# Shared by run.sh and test.sh: install what a fresh machine lacks, then build.
set -euo pipefail

# Installs Debian packages as root; elsewhere says what to install and stops.
apt_install() {
  local why=$1; shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "$why is missing; install it (apt-get install -y $*)." >&2
    exit 1
  fi
  echo "==> Installing $why (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

have_postgres_server() {
  [ -n "${HEALTHEVENTS_PG_BIN:-}" ] && [ -x "${HEALTHEVENTS_PG_BIN}/initdb" ] && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if [ -z "${ConnectionStrings__Postgres:-}" ] && ! have_postgres_server; then
  apt_install "the PostgreSQL server (or set ConnectionStrings__Postgres)" postgresql
  # The service runs its own private instance; the distribution's default cluster is not needed.
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r ver name _; do pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done
  fi
fi

# ICU: identifiers are compared after Unicode normalisation (NFC), which .NET takes from ICU.
if ! compgen -G "/usr/lib/*/libicuuc.so.*" >/dev/null && ! compgen -G "/usr/lib/libicuuc.so.*" >/dev/null; then
  [ "$(id -u)" -ne 0 ] || apt-get update -qq
  apt_install "ICU (libicu)" "$(apt-cache search --names-only '^libicu[0-9]+$' | awk '{print $1}' | sort -V | tail -1)"
fi

# Chromium: the patient page's browser tests drive Debian's chromium (Playwright never downloads a browser here).
# Only test.sh needs it; run.sh serves the page to whatever browser the patient has.
if [ "${HEALTHEVENTS_NEEDS_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null && [ -z "${HEALTHEVENTS_CHROMIUM:-}" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt_install "Chromium (for the browser tests)" chromium
  else
    echo "Chromium is missing: the browser tests will be skipped (apt-get install -y chromium)." >&2
  fi
fi

if ! command -v dotnet >/dev/null; then
  echo "The .NET 10 SDK is required (dotnet on PATH)." >&2
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
configuration=${HEALTHEVENTS_CONFIGURATION:-Release}
api_out="src/Api/bin/$configuration/net10.0"
# Written just before a build that then succeeded, with a checksum of the list of source files: a file changed after
# it (an edit, a checkout) is newer than it, a file added, removed or renamed changes the list. Folders' own times are
# not compared: the build itself adds bin/ and obj/ to them.
api_stamp="$api_out/.built-from-sources"

api_sources() {
  find src Directory.Build.props Directory.Packages.props \( -name bin -o -name obj \) -prune -o -type f "$@" -print 2>/dev/null
}

api_is_current() {
  [ -f "$api_out/HealthEvents.Api.dll" ] && [ -f "$api_stamp" ] || return 1
  [ -z "$(api_sources -newer "$api_stamp" | head -n 1)" ] && [ "$(api_sources | LC_ALL=C sort | cksum)" = "$(cat "$api_stamp")" ]
}

# HEALTHEVENTS_BUILD=api (run.sh): the service only, and nothing at all when its binaries are current;
# otherwise (test.sh) the whole solution, tests included, every time.
if [ "${HEALTHEVENTS_BUILD:-all}" = api ] && api_is_current; then
  :
else
  target=HealthEvents.sln
  [ "${HEALTHEVENTS_BUILD:-all}" = api ] && target=src/Api/Api.csproj
  echo "==> Building $target ($configuration)"
  mkdir -p "$api_out"
  api_sources | LC_ALL=C sort | cksum > "$api_stamp.next"
  dotnet build "$target" -c "$configuration" -nologo -v quiet -clp:ErrorsOnly
  mv "$api_stamp.next" "$api_stamp"
fi
