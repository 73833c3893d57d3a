#!/usr/bin/env bash
# Soak measurement for `fanout monitor`: N devsim devices polled every INTERVAL through WORKERS
# local workers for DURATION, sampling the coordinator's and each worker's resident memory
# (VmRSS) and CPU use every SAMPLE seconds. Flat RSS and steady CPU per interval over the run is
# what a one-hour, 10 s-interval monitor of 1,000 devices needs; a shorter interval compresses
# the same number of polls into less time.
#
#   tests/scripts/monitor-soak.sh [DEVICES] [INTERVAL] [DURATION_S] [WORKERS] [SAMPLE_S]
#
# Uses the binaries in target/${PROFILE:-debug}; build them first (`cargo build --bins`).
set -euo pipefail
devices=${1:-1000}
interval=${2:-2s}
duration=${3:-300}
workers=${4:-2}
sample=${5:-15}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/target/${PROFILE:-debug}
dir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

"$bin/fanout-devsim" --count "$devices" --latency 20ms --jitter 20ms --port 0 \
    --base 127.3.0.1 --cpu-spikes 2 --flap 1 --flap-period 60s \
    --inventory-out "$dir/inventory.yaml" >"$dir/devsim.out" 2>"$dir/devsim.err" &
pids+=($!)
devsim=$!
for _ in $(seq 100); do [ -s "$dir/devsim.out" ] && break; sleep 0.1; done
cat >"$dir/monitor.yaml" <<'YAML'
checks:
  - name: interfaces
    command: show ip interface brief
    parse: textfsm
    track: { key: intf, field: status }
  - name: cpu
    command: show processes cpu | include CPU
    extract: 'five seconds: (\d+)%'
    alert_when: { above: 80, for: 2 }
alerts: []
YAML
FANOUT_WORKER_BIN="$bin/fanout-worker" "$bin/fanout" monitor -i "$dir/inventory.yaml" \
    --checks "$dir/monitor.yaml" --every "$interval" --workers "$workers" \
    --host-key-policy off --journal "$dir/alerts.jsonl" --dashboard 127.0.0.1:0 \
    --duration "${duration}s" >"$dir/monitor.out" 2>"$dir/monitor.err" &
pids+=($!)
monitor=$!

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo -; }
children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$' | sort -n || true; }

declare -A last
printf '%6s  %-12s %9s %8s\n' "t(s)" "process" "rss(MiB)" "cpu(%)"
start=$(date +%s)
while kill -0 "$monitor" 2>/dev/null; do
    sleep "$sample"
    now=$(( $(date +%s) - start ))
    for entry in "coordinator:$monitor" "devsim:$devsim" $(for w in $(children "$monitor"); do echo "worker-$w:$w"; done); do
        name=${entry%%:*}; pid=${entry##*:}
        [ -r "/proc/$pid/stat" ] || continue
        t=$(cpu_ticks "$pid")
        prev=${last[$pid]:-$t}
        last[$pid]=$t
        pct=$(awk -v d=$((t - prev)) -v hz="$ticks" -v s="$sample" 'BEGIN { printf "%.1f", 100 * d / hz / s }')
        printf '%6s  %-12s %9s %8s\n' "$now" "$name" "$(rss_mib "$pid")" "$pct"
    done
done
wait "$monitor" || true
echo "--- fanout monitor said:"
cat "$dir/monitor.out"
echo "alerts recorded: $(wc -l <"$dir/alerts.jsonl" 2>/dev/null || echo 0)"
