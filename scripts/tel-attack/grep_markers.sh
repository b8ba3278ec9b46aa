#!/usr/bin/env bash
# grep_markers.sh <out-dir>: every marker drive.py sent, searched in every exported byte (OTLP bodies, /metrics, stdout/stderr).
out=$1
while IFS= read -r m; do
  [ -z "$m" ] && continue
  hits=$(grep -rlaF -- "$m" "$out"/otlp/*.pb "$out"/metrics.prom "$out"/svc.out "$out"/svc.err 2>/dev/null | tr '\n' ' ')
  [ -n "$hits" ] && echo "LEAK '$m': $hits"
done < "$out/markers.txt"
while IFS= read -r p; do
  for form in "$p" "${p//-/}"; do
    hits=$(grep -rlaF -- "$form" "$out"/otlp/*.pb "$out"/metrics.prom "$out"/svc.out "$out"/svc.err 2>/dev/null | tr '\n' ' ')
    [ -n "$hits" ] && echo "PATIENT-ID '$form': $hits"
  done
done < "$out/patient-ids.txt"
