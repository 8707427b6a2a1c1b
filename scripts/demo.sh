#!/usr/bin/env bash
# The demo: start the Artifactory emulator on a free loopback port with the seed story's scenario, run artprune as a
# dry run, then with --delete, print both reports, and stop the emulator. Needs only the two binaries (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
WORK=$(mktemp -d)
TOKEN="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
"$BIN/fakeartifactory" --listen 127.0.0.1:0 --addr-file "$WORK/addr" --admin-token "$TOKEN" \
  --repo docker-local --scenario seed-story 2>"$WORK/emulator.log" &
EMU=$!
trap 'kill $EMU 2>/dev/null || true; wait $EMU 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do
  [[ -s $WORK/addr ]] && break
  kill -0 $EMU 2>/dev/null || { cat "$WORK/emulator.log" >&2; exit 1; }
  sleep 0.05
done
[[ -s $WORK/addr ]] || { echo "the emulator did not start:" >&2; cat "$WORK/emulator.log" >&2; exit 1; }
export JF_URL="http://$(cat "$WORK/addr")/artifactory" JF_ACCESS_TOKEN="$TOKEN"
REPORT="${TMPDIR:-/tmp}/artprune-demo-report.json"

echo "== The emulator holds the seed story: my-image:latest overwritten, an untagged push-by-digest index,"
echo "   a signature referrer, a young push, a single-platform tag, and other-image's nested index."
echo
echo "== artprune prune --repo docker-local                (dry run)"
"$BIN/artprune" prune --repo docker-local --quiet
echo
echo "== artprune prune --repo docker-local --delete --report $REPORT"
"$BIN/artprune" prune --repo docker-local --quiet --delete --report "$REPORT"
echo
echo "== a second run finds nothing left to delete"
"$BIN/artprune" prune --repo docker-local --quiet --delete | tail -n 3
echo
echo "JSON report: $REPORT"
