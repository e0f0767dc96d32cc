#!/bin/bash
# User-space instructions per hot hit, counted by callgrind: deterministic where wall-clock rates on this VM are not
# (a diagnostic for work on the hot path, not a target). Jacket runs under valgrind with instrumentation off while it
# starts and while W hits warm it up; instrumentation is switched on for N more hits, then the count is divided by N.
#   bench/callgrind/hits.sh            (W=30000 N=20000 by default; JROOT=another checkout to compare code)
# Needs valgrind (Debian package). Major garbage collections falling inside the window show up as outliers.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
JROOT=${JROOT:-$(cd "$HERE/../.." && pwd)}
W=${W:-30000}; N=${N:-20000}; PORT=${PORT:-18090}; P=${P:-/b/id/1-M.jpg}
NODE="$HERE/../../node_modules/.bin/node"
WORK=$(mktemp -d); trap 'kill $VP 2>/dev/null; rm -rf "$WORK"' EXIT
# vgdb names its pipes after USER, LOGNAME and HOST: valgrind and callgrind_control must see the same ones.
export USER=${USER:-root} LOGNAME=${LOGNAME:-root} HOST=127.0.0.1
"$NODE" "$HERE/make-hit-data.ts" "$WORK/data"
cd "$JROOT"
PORT=$PORT JACKET_DATA_DIR="$WORK/data" JACKET_ADMIN_TOKEN=bench-admin-token LOG_LEVEL=warn JACKET_OL_RATE_LIMIT=off \
  valgrind --tool=callgrind --smc-check=all-non-file --instr-atstart=no --callgrind-out-file="$WORK/cg.%p" \
  node_modules/.bin/node bin/jacket.js serve 2>"$WORK/valgrind.log" & VP=$!
for i in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$PORT$P" && break; sleep 0.5; done
"$NODE" "$HERE/drive.ts" "http://127.0.0.1:$PORT$P" "$W" 8
callgrind_control -i on $VP >/dev/null 2>&1
"$NODE" "$HERE/drive.ts" "http://127.0.0.1:$PORT$P" "$N" 8
callgrind_control -d $VP >/dev/null 2>&1
callgrind_control -i off $VP >/dev/null 2>&1
total=$(callgrind_annotate "$(ls -S "$WORK"/cg.*.1 | head -1)" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
echo "user-space instructions per hit ($P, $N hits after $W): $((total / N))"
