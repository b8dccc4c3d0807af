#!/usr/bin/env bash
# `make run`: ptpipd on the built-in simulated camera, a first ptpipctl call, then the daemon in the
# foreground until Ctrl-C. Everything lives in ./.run (socket, GUID, captures).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
VENDOR=${VENDOR:-generic}
RPC_TCP=${RPC_TCP:-127.0.0.1:15741}
LEGACY=${LEGACY:-127.0.0.1:15740}
RUN=.run
SOCK=$RUN/ptpipd.sock
mkdir -p "$RUN"

"$BIN/ptpipd" --simulate "$VENDOR" --socket "$SOCK" --state-dir "$RUN/state" --rpc-tcp "$RPC_TCP" \
    --legacy "$LEGACY" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM EXIT

# Wait (at most 15 s) until the daemon answers and the camera is connected.
for _ in $(seq 150); do
    if "$BIN/ptpipctl" --socket "$SOCK" status --json 2>/dev/null | grep -q '"connected"'; then
        break
    fi
    kill -0 $daemon 2>/dev/null || { echo "ptpipd exited" >&2; exit 1; }
    sleep 0.1
done

echo
echo "ptpipd is serving a simulated $VENDOR camera. A first call:"
echo "  \$ $BIN/ptpipctl --socket $SOCK get iso"
"$BIN/ptpipctl" --socket "$SOCK" get iso
echo
echo "Try, in another shell:"
echo "  $BIN/ptpipctl --socket $SOCK set iso 800"
echo "  $BIN/ptpipctl --socket $SOCK capture /tmp/shot.jpg"
echo "  echo 'get iso' | nc ${LEGACY%:*} ${LEGACY##*:}            # the legacy text protocol"
echo "  echo '{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"id\":1}' | nc -U -q1 $SOCK"
echo "Ctrl-C stops the daemon."
wait $daemon
