#!/usr/bin/env bash
# Load scenario: a release `gsp world` on loopback and `gsp bot` with N bots
# for SECS seconds. Prints the swarm's report and the world's /status during
# and after the run. Stops by itself.
#
#   benches/load/world-bots.sh [N=200] [SECS=20]
set -euo pipefail
count="${1:-200}"
secs="${2:-20}"
source "$(dirname "$0")/world.sh" --max-players 5000

echo "== gsp bot --count $count --duration $secs against $quic"
( sleep "$(python3 -c "print($secs*0.75)")"; echo "== /status during the run"; status ) &
during=$!
"$gsp" bot --server "$quic" --pin "$pin" --count "$count" --duration "$secs" || true
wait "$during"
echo "== /status after the run"
status
