#!/bin/sh
# The resident memory of a long-lived coordinator (`fanout serve --state-dir`) after JOBS jobs of
# HOSTS hosts each, run one after the other through two workers against a devsim fleet with no
# latency. Prints the coordinator's VmRSS (and VmHWM, its peak) every REPORT_EVERY jobs and at
# the end.
#
#   tests/scripts/serve-rss.sh [BIN_DIR]        # default: target/release, else target/debug
#
# Settings by environment: JOBS (1000), HOSTS (300), MODE (`ssh`: `-c "show version"` over
# SSH; `http`: `--http GET:/log` over plain HTTP, much cheaper on CPU, the same kind of
# records), REPORT_EVERY (100), SERVE_ARGS (extra flags for `fanout serve`, e.g.
# `--keep-jobs 0`). Everything runs on loopback in a temporary directory, removed at the end.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
    if [ -x "$root/target/release/fanout" ]; then bin=$root/target/release; else bin=$root/target/debug; fi
fi
JOBS=${JOBS:-1000}
HOSTS=${HOSTS:-300}
MODE=${MODE:-ssh}
REPORT_EVERY=${REPORT_EVERY:-100}
SERVE_ARGS=${SERVE_ARGS:-}

dir=$(mktemp -d)
pids=""
cleanup() {
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$bin/fanout-devsim" --count "$HOSTS" --latency 0 --port 0 --base 127.2.0.1 \
    --inventory-out "$dir/hosts.yaml" >"$dir/devsim.log" 2>&1 &
pids="$pids $!"
while ! grep -q "inventory written" "$dir/devsim.log" 2>/dev/null; do sleep 0.2; done

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/token"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/worker-token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# A coordinator from before workers had a token of their own takes the one token for both.
if "$bin/fanout" serve --help | grep -q -- --worker-token-file; then
    tokens="--token-file $dir/token --worker-token-file $dir/worker-token"
    worker_token=$dir/worker-token
else
    tokens="--token-file $dir/token"
    worker_token=$dir/token
fi
# shellcheck disable=SC2086
"$bin/fanout" serve --listen "127.0.0.1:$port" $tokens --state-dir "$dir/state" $SERVE_ARGS \
    >"$dir/serve.log" 2>&1 &
serve=$!
pids="$pids $serve"
while ! grep -q "serving on" "$dir/serve.log" 2>/dev/null; do sleep 0.2; done
for n in 1 2; do
    "$bin/fanout-worker" --coordinator "$url" --token-file "$worker_token" --worker-id "w$n" \
        --concurrency 500 >"$dir/worker$n.log" 2>&1 &
    pids="$pids $!"
done
sleep 1

run_job() {
    case $MODE in
        ssh) set -- -c "show version" ;;
        http) set -- --http GET:/log ;;
        *) echo "MODE is ssh or http" >&2; exit 2 ;;
    esac
    "$bin/fanout" run -i "$dir/hosts.yaml" "$@" --coordinator "$url" --token-file "$dir/token" \
        --connect-rate 0 --host-key-policy off --format json >"$dir/last.jsonl" 2>"$dir/last.err"
}

rss() {
    awk '/^VmRSS|^VmHWM/ { printf "%s %s %s  ", $1, $2, $3 }' "/proc/$serve/status"
    echo
}

echo "coordinator $(rss)(before any job; $MODE, $HOSTS hosts per job, bin $bin)"
started=$(date +%s)
failed=0
i=1
while [ "$i" -le "$JOBS" ]; do
    code=0
    run_job || code=$?
    if [ "$code" -eq 1 ]; then
        # Some host failed: say which and why, and go on (memory is what is measured here).
        echo "job $i: $(grep -c '"ok":false' "$dir/last.jsonl") hosts failed:" >&2
        grep '"ok":false' "$dir/last.jsonl" | head -3 >&2
        failed=$((failed + 1))
    elif [ "$code" -ne 0 ]; then
        echo "job $i failed (exit $code):" >&2
        cat "$dir/last.err" >&2
        exit 1
    fi
    if [ "$(wc -l <"$dir/last.jsonl")" -ne "$HOSTS" ]; then
        echo "job $i reported $(wc -l <"$dir/last.jsonl") hosts, not $HOSTS" >&2
        exit 1
    fi
    if [ $((i % REPORT_EVERY)) -eq 0 ] || [ "$i" -eq "$JOBS" ]; then
        echo "after $i jobs ($(($(date +%s) - started)) s): $(rss)"
    fi
    i=$((i + 1))
done
echo "state directory: $(du -sh "$dir/state" | cut -f1); jobs with a failed host: $failed"
