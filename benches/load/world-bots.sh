#!/usr/bin/env bash
# Load scenario: a release `gsp world` on loopback and `gsp bot` with N bots
# for SECS seconds. Prints the swarm's report and the world's /status during
# and after the run. Stops by itself.
#
#   benches/load/world-bots.sh [N=200] [SECS=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
count="${1:-200}"
secs="${2:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/gsp-target}"
cargo build --release --locked --quiet
gsp="$CARGO_TARGET_DIR/release/gsp"
data=$(mktemp -d)
out="$data/world.out"
"$gsp" world --telnet 127.0.0.1:0 --quic 127.0.0.1:0 --http 127.0.0.1:0 --data "$data" >"$out" 2>"$data/world.err" &
world=$!
trap 'kill $world 2>/dev/null; wait $world 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
    grep -q '^quic certificate' "$out" 2>/dev/null && break
    sleep 0.1
done
quic=$(sed -n 's/^listening quic=//p' "$out")
http=$(sed -n 's/^listening http=//p' "$out")
pin=$(sed -n 's/^quic certificate sha256=//p' "$out")
status() { python3 -c 'import json,sys,urllib.request; print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1])), indent=None))' "http://$http/status"; }

echo "== gsp bot --count $count --duration $secs against $quic"
( sleep "$(python3 -c "print($secs*0.75)")"; echo "== /status during the run"; status ) &
during=$!
"$gsp" bot --server "$quic" --pin "$pin" --count "$count" --duration "$secs" || true
wait "$during"
echo "== /status after the run"
status
