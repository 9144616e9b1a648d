#!/usr/bin/env bash
# Crowd ladder (#15): one release `gsp world` pinned to one core (taskset),
# and `gsp bot` swarms pinned to the other, all in the start room (crowd
# mode): 3/4 graphical bots, 1/4 telnet bots, everyone moving, 1 in 10
# talking once a second. Default steps: 100, 250, 500, 1000 players, 20 s
# each. Per step one line: measured tick rate, tick p50/p99/max and time
# dilation (the world's /status near the end of the step), the world's CPU
# over the step, snapshots/s and kB/s per graphical bot, text lines/s the
# telnet bots read, slow disconnects, and whether the swarm was saturated
# (its own CPU or late input ticks; see `gsp bot`). Bots start over
# players/100 seconds (at least 1). First the UDP ceiling probe
# (`udp-ceiling`: a bare sendmmsg/recvmmsg loop from the world's core to the
# swarm's) gives the datagrams/s loopback carries at all; each step prints
# the share of it the world's snapshots used. Stops by itself; loopback
# only. Needs 2 cores (without taskset it runs unpinned).
#
#   benches/load/crowd.sh [SECS=20] [PLAYERS="100 250 500 1000"]
set -euo pipefail
secs="${1:-20}"
steps="${2:-100 250 500 1000}"
pin_world=() pin_swarm=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_world=(taskset -c 0) pin_swarm=(taskset -c 1)
fi
export WORLD_PREFIX="${pin_world[*]:-}"
source "$(dirname "$0")/world.sh" --max-players 5000 --telnet-guests
telnet=$(sed -n 's/^listening telnet=//p' "$data/world.out")
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$world/stat"; }
cargo build --release --locked --quiet -p gsp-benches --bin udp-ceiling
ceiling=$("$CARGO_TARGET_DIR/release/udp-ceiling" 3 1100 0 1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["received_per_sec"])')
echo "udp ceiling: $ceiling datagrams/s of 1,100 bytes (udp-ceiling 3 1100 0 1)"
slow() { status | python3 -c 'import json,sys; print(json.load(sys.stdin)["slow_disconnects"])'; }

printf '%-7s %-8s %-22s %-9s %-7s %-13s %-10s %-9s %-9s %-6s %s\n' \
    players tick_hz tick_p50/p99/max_ms dilation world% snapshots/s kB/s/bot ceiling% lines/s slow saturated
for players in $steps; do
    quic_n=$(( players * 3 / 4 ))
    telnet_n=$(( players - quic_n ))
    report="$data/crowd-$players.json"
    slow_before=$(slow)
    before=$(cpu_ticks)
    start=$(date +%s.%N)
    ( sleep "$(python3 -c "print($secs*0.8)")"; status >"$data/status-$players.json" ) &
    sampler=$!
    "${pin_swarm[@]}" "$gsp" bot --server "$quic" --pin "$pin" --count "$quic_n" \
        --telnet "$telnet_n" --telnet-server "$telnet" --crowd --talkers 0.1 --talk-every 1 \
        --ramp "$(python3 -c "print(max(1.0, $players / 100))")" \
        --duration "$secs" --name-prefix "c${players}b" --json >"$report" || true
    wait "$sampler"
    after=$(cpu_ticks)
    end=$(date +%s.%N)
    slow_after=$(slow)
    python3 - "$report" "$data/status-$players.json" "$before" "$after" "$start" "$end" "$hz" \
        "$slow_before" "$slow_after" "$players" "$ceiling" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
status = json.load(open(sys.argv[2]))
before, after, start, end, hz = map(float, sys.argv[3:8])
slow = int(sys.argv[9]) - int(sys.argv[8])
cpu = (after - before) / hz / (end - start) * 100
t = status["tick_ms"]
players = report["connected"] + report["telnet_connected"]
ceiling = float(sys.argv[11])
used = report["states_per_sec_per_bot"] * report["connected"] / ceiling * 100 if ceiling else 0
print(f"{players:<7} {status['measured_tick_rate']:<8.1f} "
      f"{t['p50']:.1f}/{t['p99']:.1f}/{t['max']:.1f}".ljust(39)
      + f" {status.get('time_dilation', 1.0):<9} {cpu:<7.0f} {report['states_per_sec_per_bot']:<13} "
      f"{report['bytes_per_sec_per_bot'] / 1000:<10.1f} {used:<9.2f} {report['telnet_lines_per_sec']:<9} {slow:<6} "
      f"{'yes' if report['saturated'] else 'no'} (swarm {report['swarm_cpu_percent']}% CPU)"
      + (f"   (failed: {report['failed']}, errors: {report['errors'][:2]})" if report['failed'] else ""))
PY
    sleep 2
done
echo "load: $(uptime)"
