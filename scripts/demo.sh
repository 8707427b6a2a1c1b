#!/usr/bin/env bash
# The demo: start the Artifactory emulator on a free loopback port with the seed story's scenario, run artprune as a
# dry run, then with --delete, print both reports, and stop the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
TOKEN="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18081)
LOG=$(mktemp)
"$BIN/fakeartifactory" --listen "127.0.0.1:$PORT" --admin-token "$TOKEN" --repo docker-local --scenario seed-story 2>"$LOG" &
EMU=$!
trap 'kill $EMU 2>/dev/null || true; wait $EMU 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/artifactory/api/system/ping" >/dev/null 2>&1 && break
  sleep 0.1
done
export JF_URL="http://127.0.0.1:$PORT/artifactory" JF_ACCESS_TOKEN="$TOKEN"

echo "== The emulator holds the seed story: my-image:latest overwritten, an untagged push-by-digest index,"
echo "   a signature referrer, a young push, a single-platform tag, and other-image's nested index."
echo
echo "== artprune prune --repo docker-local                (dry run)"
"$BIN/artprune" prune --repo docker-local --quiet
echo
echo "== artprune prune --repo docker-local --delete --report demo-report.json"
"$BIN/artprune" prune --repo docker-local --quiet --delete --report "${TMPDIR:-/tmp}/artprune-demo-report.json"
echo
echo "== a second run finds nothing left to delete"
"$BIN/artprune" prune --repo docker-local --quiet --delete | tail -n 3
echo
echo "JSON report: ${TMPDIR:-/tmp}/artprune-demo-report.json"
