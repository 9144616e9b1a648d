#!/usr/bin/env bash
# Text fan-out (#15): one release `gsp world` pinned to one core (taskset),
# a swarm of telnet bots pinned to the other, everyone in the start room:
# LISTENERS who only read and SPEAKERS who each say a line every
# 1/RATE seconds (the world's speech limit raised to RATE for the run, so
# that nothing is dropped at the source). Each line carries its speaker's
# timestamp, so listeners measure the delivery latency (say to a listener's
# read). Prints lines/s delivered once the swarm is steady, the latency
# p50/p99, the world's tick and CPU, slow disconnects, and whether the swarm
# was saturated. Stops by itself; loopback only.
#
#   benches/load/fanout.sh [SECS=20] [LISTENERS=500] [SPEAKERS=20] [RATE=10]
set -euo pipefail
secs="${1:-20}" listeners="${2:-500}" speakers="${3:-20}" rate="${4:-10}"
pin_world=() pin_swarm=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    pin_world=(taskset -c 0) pin_swarm=(taskset -c 1)
fi
export WORLD_PREFIX="${pin_world[*]:-}"
source "$(dirname "$0")/world.sh" --max-players 5000 --telnet-guests --speech-per-second "$rate" --speech-burst "$rate"
telnet=$(sed -n 's/^listening telnet=//p' "$data/world.out")
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$world/stat"; }
total=$(( listeners + speakers ))
# Talkers are every Nth bot (bot 0, N, 2N...): N = total / speakers.
share=$(python3 -c "print(1 / ($total // $speakers))")
ramp=$(python3 -c "print(max(1.0, $total / 200))")
before=$(cpu_ticks)
start=$(date +%s.%N)
( sleep "$(python3 -c "print($secs * 0.8)")"; status >"$data/status.json" ) &
sampler=$!
"${pin_swarm[@]}" "$gsp" bot --server "$quic" --pin "$pin" --count 0 \
    --telnet "$total" --telnet-server "$telnet" --crowd --talkers "$share" \
    --talk-every "$(python3 -c "print(1 / $rate)")" --ramp "$ramp" \
    --duration "$secs" --name-prefix fan --json >"$data/fanout.json" || true
wait "$sampler"
after=$(cpu_ticks)
end=$(date +%s.%N)
python3 - "$data/fanout.json" "$data/status.json" "$before" "$after" "$start" "$end" "$hz" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
before, after, start, end, hz = map(float, sys.argv[3:8])
t = s["tick_ms"]
print(f"telnet bots logged in: {r['telnet_connected']} of {r['telnet_bots']} ({r['telnet_failed']} failed)")
print(f"lines/s delivered once steady: {r['telnet_steady_lines_per_sec']:.0f} "
      f"(said in all: {r['telnet_said']}, stamped lines heard: {r['telnet_heard']})")
print(f"delivery latency: p50 {r['telnet_latency_ms_p50']} ms, p99 {r['telnet_latency_ms_p99']} ms")
print(f"world: tick {s['measured_tick_rate']:.1f} Hz, p50/p99/max {t['p50']:.1f}/{t['p99']:.1f}/{t['max']:.1f} ms, "
      f"dilation {s.get('time_dilation', 1.0)}, CPU {(after - before) / hz / (end - start) * 100:.0f} %, "
      f"slow disconnects {s['slow_disconnects']}")
print(f"swarm: {r['swarm_cpu_percent']}% CPU, saturated: {'yes' if r['saturated'] else 'no'}"
      + (f"; errors: {r['errors'][:2]}" if r['failed'] else ""))
PY
echo "load: $(uptime)"
