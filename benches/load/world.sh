# Sourced by the load scenarios: builds the release binary and starts one
# `gsp world` on loopback in the background, stopped and cleaned up on exit.
# Sets: gsp (the binary), data (a scratch directory), world (its pid), and
# quic, http, pin (its QUIC address, HTTP address and certificate fingerprint).
# Arguments to `source` are passed to `gsp world` (give at least one: without
# any, the caller's own arguments would be).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/gsp-target}"
cargo build --release --locked --quiet
gsp="$CARGO_TARGET_DIR/release/gsp"
data=$(mktemp -d)
# WORLD_PREFIX: a command to run the world under (crowd.sh: taskset -c 0).
${WORLD_PREFIX:-} "$gsp" world --telnet 127.0.0.1:0 --quic 127.0.0.1:0 --http 127.0.0.1:0 \
    --data "$data" "$@" >"$data/world.out" 2>"$data/world.err" &
world=$!
trap 'kill $world 2>/dev/null; wait $world 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
    grep -q '^quic certificate' "$data/world.out" 2>/dev/null && break
    sleep 0.1
done
quic=$(sed -n 's/^listening quic=//p' "$data/world.out")
http=$(sed -n 's/^listening http=//p' "$data/world.out")
pin=$(sed -n 's/^quic certificate sha256=//p' "$data/world.out")
status() { python3 -c 'import json,sys,urllib.request; print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1]))))' "http://$http/status"; }
