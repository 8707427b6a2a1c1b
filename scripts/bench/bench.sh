#!/usr/bin/env bash
# make bench: the shell script of skopeo#2497 against `artprune prune --delete`, each on a fresh copy of the same
# generated Docker repository in the Artifactory emulator, with latency injected on every request.
#
# For each contender it records the wall and CPU time and peak RSS (/usr/bin/time -v), the requests by endpoint class
# (the emulator's counters) and the manifest folders deleted (AQL inventories before and after), then prints the
# comparison table and checks that artprune deleted a superset of what the script deleted safely (every folder the
# script alone deleted must be one artprune keeps as live, with its reason). Results go to $BENCH_OUT.
#
# Settings (environment):
#   BENCH_GENERATE     --generate spec     (default images=20,tags=4,generations=5,platforms=2,attestations=1,referrers=0.1)
#   BENCH_SEED         --seed              (default 1)
#   BENCH_LATENCY      per-request latency (default 10ms)
#   BENCH_CONCURRENCY  artprune --concurrency (default 8)
#   BENCH_PAGE_SIZE    artprune --page-size   (default 10000)
#   BENCH_OUT          results directory   (default .cache/bench/<date>)
#   BENCH_PORT         first of two loopback ports (default 18281)
#   BENCH_UPDATE=1     rewrite the measured section of docs/benchmarks.md
#   ARTPRUNE_SHARED    folder holding seeds/skopeo-issue-2497.txt (default ../shared, then /work/shared)
#
# Needs: Go, bash, curl, jq, GNU parallel, skopeo and GNU time (installed with apt-get when missing and root).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GENERATE=${BENCH_GENERATE:-images=20,tags=4,generations=5,platforms=2,attestations=1,referrers=0.1}
SEED=${BENCH_SEED:-1}
LATENCY=${BENCH_LATENCY:-10ms}
CONCURRENCY=${BENCH_CONCURRENCY:-8}
PAGE_SIZE=${BENCH_PAGE_SIZE:-10000}
OUT=${BENCH_OUT:-$ROOT/.cache/bench/$(date -u +%Y%m%dT%H%M%SZ)}
PORT=${BENCH_PORT:-18281}
PROXY_PORT=$((PORT + 1))
REPO=docker-local
TOKEN="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
URL="http://127.0.0.1:$PORT/artifactory"
SCRIPT_HOST=artifactory.example.com
SEED_FILE=seeds/skopeo-issue-2497.txt

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---- prerequisites ----
shared=""
for d in "${ARTPRUNE_SHARED:-}" "$ROOT/../shared" /work/shared; do
  [[ -n $d && -f $d/$SEED_FILE ]] && { shared=$d; break; }
done
[[ -n $shared ]] || die "$SEED_FILE not found beside the clone: set ARTPRUNE_SHARED"
if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing GNU time"
    apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null; }
  fi
  [[ -x /usr/bin/time ]] || die "GNU time is missing: apt-get install time"
fi
for t in bash curl jq parallel skopeo; do
  command -v "$t" >/dev/null || die "$t is missing (.ci/run installs skopeo, parallel and jq)"
done

log "building"
make -s build
go build -o bin/benchtool ./scripts/bench/benchtool
mkdir -p "$OUT"
printf '%s\n' "$TOKEN" >"$OUT/token"

EMU_PID="" PROXY_PID=""
cleanup() {
  [[ -n $PROXY_PID ]] && { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }
  [[ -n $EMU_PID ]] && { kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; }
  PROXY_PID="" EMU_PID=""
}
trap cleanup EXIT

# start_emulator DIR: a fresh emulator holding the generated repository, with the latency set.
start_emulator() {
  bin/fakeartifactory --listen "127.0.0.1:$PORT" --admin-token "$TOKEN" --repo "$REPO" \
    --generate "$GENERATE" --seed "$SEED" 2>"$1/emulator.log" &
  EMU_PID=$!
  for _ in $(seq 1 600); do
    curl -fsS "$URL/api/system/ping" >/dev/null 2>&1 && break
    kill -0 "$EMU_PID" 2>/dev/null || die "the emulator stopped: $(cat "$1/emulator.log")"
    sleep 0.2
  done
  bin/benchtool inventory --url "$URL" --token "$TOKEN" --repo "$REPO" --out "$1/before.tsv"
  admin POST "faults?latency=$LATENCY"
  admin POST stats/reset
}

admin() { curl -fsS -X "$1" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/_emulator/$2"; }

# finish_run DIR: the counters and the inventory after the run, then the emulator goes.
finish_run() {
  admin GET stats >"$1/stats.json"
  admin POST "faults?latency=0s"
  bin/benchtool inventory --url "$URL" --token "$TOKEN" --repo "$REPO" --out "$1/after.tsv"
  cleanup
}

# ---- the shell script ----
run_script() {
  local dir=$OUT/script
  mkdir -p "$dir/bin" "$dir/home"/{.config,.docker,run,cache,tmp}
  # The script as published: the lines after `#!/bin/bash` and before its final `main "$@"`.
  awk '/^#!\/bin\/bash/ && !s {s=1; next} s {print}' "$shared/$SEED_FILE" >"$dir/body.sh"
  local last
  last=$(grep -n '^main "\$@"' "$dir/body.sh" | tail -n1 | cut -d: -f1)
  [[ -n $last ]] || die "no final main \"\$@\" in $SEED_FILE"
  head -n $((last - 1)) "$dir/body.sh" >"$dir/skopeo-2497.sh"
  grep -q 'skopeo delete' "$dir/skopeo-2497.sh" || die "the extracted script does not call skopeo delete"
  cat >"$dir/run.sh" <<EOF
#!/bin/bash
# Defines only what the skopeo#2497 script leaves undefined, then runs it unmodified on one repository.
log_info() { printf 'INFO: %b\n' "\$*" >&2; }
log_warn() { printf 'WARN: %b\n' "\$*" >&2; }
DRY_RUN=false
source "$dir/skopeo-2497.sh"
main() { garbage_collect_dandling_images "$REPO"; }
main "\$@"
EOF
  ln -sf "$ROOT/scripts/jf" "$dir/bin/jf"
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$SCRIPT_HOST" "$(printf 'admin:%s' "$TOKEN" | base64 -w0)" >"$dir/home/auth.json"

  log "script: fresh emulator ($GENERATE, seed $SEED)"
  start_emulator "$dir"
  bin/benchtool proxy --listen "127.0.0.1:$PROXY_PORT" --target "http://127.0.0.1:$PORT" --host "$SCRIPT_HOST" \
    --ca "$dir/ca.pem" >"$dir/proxy.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 1 100); do grep -q listening "$dir/proxy.log" 2>/dev/null && break; sleep 0.1; done

  # The script writes /tmp/images_to_keep.txt, a fixed path: another run of it on this machine (the e2e suite, say)
  # would overwrite it mid-run. As root, the run gets a private /tmp in a mount namespace of its own.
  local isolate=()
  if [[ $(id -u) == 0 && $dir != /tmp/* ]] && command -v unshare >/dev/null &&
    unshare --mount --propagation private true 2>/dev/null; then
    mkdir -p "$dir/private-tmp"
    isolate=(unshare --mount --propagation private -- bash -c 'mount --bind "$0" /tmp && exec "$@"' "$dir/private-tmp")
  else
    log "script: /tmp/images_to_keep.txt is shared with any other run of the script on this machine"
    rm -f /tmp/images_to_keep.txt
  fi
  log "script: running (latency $LATENCY per request)"
  local home=$dir/home rc=0
  /usr/bin/time -v -o "$dir/time.txt" "${isolate[@]}" env -i PATH="$dir/bin:$PATH" HOME="$home" LANG=C.UTF-8 \
    XDG_CONFIG_HOME="$home/.config" XDG_RUNTIME_DIR="$home/run" XDG_CACHE_HOME="$home/cache" TMPDIR="$home/tmp" \
    DOCKER_CONFIG="$home/.docker" REGISTRY_AUTH_FILE="$home/auth.json" \
    JF_URL="$URL" JF_ACCESS_TOKEN="$TOKEN" \
    HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT" https_proxy="http://127.0.0.1:$PROXY_PORT" \
    NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost SSL_CERT_FILE="$dir/ca.pem" \
    bash "$dir/run.sh" >"$dir/stdout.txt" 2>"$dir/stderr.txt" || rc=$?
  [[ ${#isolate[@]} -gt 0 ]] || rm -f /tmp/images_to_keep.txt
  echo "$rc" >"$dir/exit-code"
  [[ $rc == 0 ]] || log "script: exit code $rc (see $dir/stderr.txt)"
  if grep -q 'WARN: Image could not be deleted' "$dir/stderr.txt"; then
    die "script: skopeo delete failed (see $dir/stderr.txt)"
  fi
  finish_run "$dir"
}

# ---- artprune ----
run_artprune() {
  local dir=$OUT/artprune
  mkdir -p "$dir"
  log "artprune: fresh emulator ($GENERATE, seed $SEED)"
  start_emulator "$dir"
  log "artprune: running (latency $LATENCY per request)"
  local rc=0
  /usr/bin/time -v -o "$dir/time.txt" bin/artprune prune --url "$URL" --access-token-file "$OUT/token" --repo "$REPO" \
    --delete --concurrency "$CONCURRENCY" --page-size "$PAGE_SIZE" --report "$dir/report.json" \
    >"$dir/stdout.txt" 2>"$dir/stderr.txt" || rc=$?
  echo "$rc" >"$dir/exit-code"
  [[ $rc == 0 ]] || log "artprune: exit code $rc (see $dir/stderr.txt)"
  finish_run "$dir"
}

{
  echo "GENERATE=$GENERATE"
  echo "SEED=$SEED"
  echo "LATENCY=$LATENCY"
  echo "CONCURRENCY=$CONCURRENCY"
  echo "PAGE_SIZE=$PAGE_SIZE"
  echo "DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
  echo "MEMORY=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "KERNEL=$(uname -sr)"
  echo "GO=$(go version | cut -d' ' -f3)"
  echo "SKOPEO=$(skopeo --version | cut -d' ' -f3)"
  echo "PARALLEL=$(parallel --version | head -n1)"
  echo "COMMAND=${BENCH_COMMAND:-make bench}"
  echo "LOAD=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/meta.env"

run_script
run_artprune

log "results in $OUT"
rc=0
bin/benchtool report --dir "$OUT" --markdown "$OUT/table.md" --json "$OUT/results.json" || rc=$?
if [[ ${BENCH_UPDATE:-} == 1 ]]; then
  bin/benchtool update-doc --doc docs/benchmarks.md --section bench --table "$OUT/table.md" --meta "$OUT/meta.env"
fi
exit "$rc"
