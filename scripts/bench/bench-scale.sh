#!/usr/bin/env bash
# make bench-scale: artprune dry runs against generated repositories of 10,000, 100,000 and 1,000,000 manifest
# folders in the Artifactory emulator (no latency), each emulator a separate process, to show how artprune's time
# and peak RSS grow. For each size it records the wall and CPU time and peak RSS of artprune alone
# (/usr/bin/time -v), the emulator's request counters and artprune's phase timings, then prints a table, writes
# scale.tsv and, with gnuplot, a plot.
#
# Settings (environment):
#   SCALE_SIZES        images per run, space separated (default "50 500 5000": 10k, 100k and 1M folders with the
#                      shape below)
#   SCALE_SHAPE        the rest of the --generate spec (default tags=5,generations=10,platforms=2,attestations=1,referrers=0.1)
#   SCALE_SEED         --seed (default 1)
#   SCALE_ARGS         artprune arguments (default "--page-size 100000": the emulator scans every item of a name
#                      for each AQL page, so 100 pages of 10,000 cost it a minute at 1M; the other settings are
#                      artprune's defaults)
#   SCALE_EMULATOR_GOGC  GOGC of the emulator (default 400)
#   SCALE_CACHE_IMAGES   the largest size (in images) also run twice with --cache-dir (default 500)
#   BENCH_OUT          results directory (default .cache/bench-scale/<date>)
#   BENCH_PORT         loopback port (default 18291)
#   BENCH_UPDATE=1     rewrite the scale section of docs/benchmarks.md and docs/benchmarks-scale.png
#
# The 1,000,000-folder emulator holds 4.6 million items: it needs about 12 GiB and a few minutes to generate them.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SIZES=${SCALE_SIZES:-50 500 5000}
SHAPE=${SCALE_SHAPE:-tags=5,generations=10,platforms=2,attestations=1,referrers=0.1}
SEED=${SCALE_SEED:-1}
OUT=${BENCH_OUT:-$ROOT/.cache/bench-scale/$(date -u +%Y%m%dT%H%M%SZ)}
PORT=${BENCH_PORT:-18291}
REPO=docker-local
TOKEN="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
URL="http://127.0.0.1:$PORT/artifactory"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench-scale: %s\n' "$*" >&2; exit 1; }

if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null; }
  fi
  [[ -x /usr/bin/time ]] || die "GNU time is missing: apt-get install time"
fi
log "building"
make -s build
go build -o bin/benchtool ./scripts/bench/benchtool
mkdir -p "$OUT"
printf '%s\n' "$TOKEN" >"$OUT/token"

EMU_PID=""
cleanup() {
  [[ -n $EMU_PID ]] && { kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; }
  EMU_PID=""
}
trap cleanup EXIT
admin() { curl -fsS -X "$1" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/_emulator/$2"; }
# cpu_ticks PID: user + system CPU time of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

{
  echo "SHAPE=$SHAPE"
  echo "SIZES=$SIZES"
  echo "SEED=$SEED"
  echo "ARGS=${SCALE_ARGS---page-size 100000}"
  echo "DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "COMMIT=$(git describe --always --dirty 2>/dev/null || echo unknown)"
  echo "CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
  echo "MEMORY=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  echo "KERNEL=$(uname -sr)"
  echo "GO=$(go version | cut -d' ' -f3)"
  echo "COMMAND=${BENCH_COMMAND:-make bench-scale}"
} >"$OUT/meta.env"

for images in $SIZES; do
  dir=$OUT/images-$images
  mkdir -p "$dir"
  spec="images=$images,$SHAPE"
  log "$spec: generating"
  # The emulator's heap holds millions of items, and each collection marks all of them: fewer collections leave
  # more CPU to artprune.
  GOGC=${SCALE_EMULATOR_GOGC:-400} bin/fakeartifactory --listen "127.0.0.1:$PORT" --admin-token "$TOKEN" --repo "$REPO" \
    --generate "$spec" --seed "$SEED" 2>"$dir/emulator.log" &
  EMU_PID=$!
  for _ in $(seq 1 3000); do
    curl -fsS "$URL/api/system/ping" >/dev/null 2>&1 && break
    kill -0 "$EMU_PID" 2>/dev/null || die "the emulator stopped: $(cat "$dir/emulator.log")"
    sleep 0.2
  done
  admin POST stats/reset
  echo "LOAD=$(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/load"
  emu_cpu_before=$(cpu_ticks "$EMU_PID")
  log "$spec: artprune prune (dry run)"
  rc=0
  # shellcheck disable=SC2086
  /usr/bin/time -v -o "$dir/time.txt" bin/artprune prune --url "$URL" --access-token-file "$OUT/token" --repo "$REPO" \
    ${SCALE_ARGS---page-size 100000} >/dev/null 2>"$dir/stderr.txt" || rc=$?
  echo "$rc" >"$dir/exit-code"
  [[ $rc == 0 ]] || log "$spec: artprune exit code $rc (see $dir/stderr.txt)"
  admin GET stats >"$dir/stats.json"
  # The emulator's CPU time during the run: with artprune's, what the two processes asked of the machine's cores.
  echo "$(( $(cpu_ticks "$EMU_PID") - emu_cpu_before )) $(getconf CLK_TCK)" >"$dir/emulator-cpu"
  # A scheduled run: --cache-dir filled by a first run, then a run over the unchanged repository (sizes up to
  # SCALE_CACHE_IMAGES images: a cache holds one small file per document).
  if (( images <= ${SCALE_CACHE_IMAGES:-500} )); then
    for pass in cold warm; do
      log "$spec: artprune prune --cache-dir ($pass)"
      # shellcheck disable=SC2086
      /usr/bin/time -v -o "$dir/cache-$pass-time.txt" bin/artprune prune --url "$URL" --access-token-file "$OUT/token" \
        --repo "$REPO" --cache-dir "$dir/cache" ${SCALE_ARGS---page-size 100000} >/dev/null 2>"$dir/cache-$pass-stderr.txt" || true
    done
    rm -rf "$dir/cache"
  fi
  grep -m1 'generated repository' "$dir/emulator.log" >"$dir/generated.txt" || true
  cleanup
done

log "results in $OUT"
bin/benchtool scale-report --dir "$OUT" --markdown "$OUT/table.md" --tsv "$OUT/scale.tsv"
if (( $(wc -w <<<"$SIZES") < 2 )); then
  log "one size: no plot"
elif command -v gnuplot >/dev/null || { [[ $(id -u) == 0 ]] && apt-get install -y gnuplot-nox >/dev/null 2>&1; }; then
  gnuplot -e "tsv='$OUT/scale.tsv'; out='$OUT/scale.png'" scripts/bench/scale.gp
else
  log "gnuplot is missing: no plot (apt-get install gnuplot-nox)"
fi
if [[ ${BENCH_UPDATE:-} == 1 ]]; then
  bin/benchtool update-doc --doc docs/benchmarks.md --section scale --table "$OUT/table.md" --meta "$OUT/meta.env"
  [[ -f $OUT/scale.png ]] && cp "$OUT/scale.png" docs/benchmarks-scale.png
fi
