#!/usr/bin/env bash
# Load ladder: one release `gsp world` on loopback, and `gsp bot` swarms of
# growing size against it, one after the other (default 50, 500, 1000 bots
# for 20 s each, inputs at 30 Hz). For each step it prints one line: tick
# p50/p99 (from the world's /status near the end of the step), the world
# process's CPU use over the step, and what each bot received per second.
# Stops by itself; loopback only.
#
#   benches/load/ladder.sh [SECS=20] [COUNTS="50 500 1000"]
set -euo pipefail
secs="${1:-20}"
counts="${2:-50 500 1000}"
source "$(dirname "$0")/world.sh" --max-players 5000
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$world/stat"; }

printf '%-6s %-10s %-10s %-12s %-14s %-12s %s\n' bots tick_p50 tick_p99 world_cpu% kB/s/bot snapshots/s prediction
for count in $counts; do
    report="$data/bot-$count.json"
    before=$(cpu_ticks)
    start=$(date +%s.%N)
    ( sleep "$(python3 -c "print($secs*0.8)")"; status >"$data/status-$count.json" ) &
    sampler=$!
    # The bots run niced, so that on a small machine the world's figures
    # measure the world rather than its contention with the load generator.
    nice -n 10 "$gsp" bot --server "$quic" --pin "$pin" --count "$count" --duration "$secs" \
        --name-prefix "l${count}b" --json >"$report" || true
    wait "$sampler"
    after=$(cpu_ticks)
    end=$(date +%s.%N)
    python3 - "$report" "$data/status-$count.json" "$before" "$after" "$start" "$end" "$hz" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
status = json.load(open(sys.argv[2]))
before, after, start, end, hz = map(float, sys.argv[3:8])
cpu = (after - before) / hz / (end - start) * 100
print(f"{report['connected']:<6} {status['tick_ms']['p50']:<10} {status['tick_ms']['p99']:<10} "
      f"{cpu:<12.0f} {report['bytes_per_sec_per_bot'] / 1000:<14.1f} {report['states_per_sec_per_bot']:<12} "
      f"{report['prediction_exact_share'] * 100:.1f}% exact, mean {report['prediction_error_mean_m'] * 1000:.1f} mm"
      + (f"   (failed: {report['failed']}, errors: {report['errors'][:2]})" if report['failed'] else ""))
PY
    sleep 2
done
