#!/usr/bin/env bash
# timelapse.sh: COUNT pictures, one every INTERVAL seconds, through ptpipd's JSON-RPC Unix socket.
# Plain bash + socat (or netcat-openbsd's `nc -U`); one JSON-RPC request per connection.
set -euo pipefail

PROG=${0##*/}
EXIT_USAGE=2
EXIT_UNREACHABLE=105

usage() {
    cat <<EOF
usage: $PROG [-s SOCKET | -i INSTANCE] [-o DIR] [-k] COUNT INTERVAL

Takes COUNT pictures, starting one every INTERVAL seconds (decimals allowed; measured from the start of
one shot to the start of the next, so a slow capture does not make the series drift).

  -s SOCKET    ptpipd's Unix socket (default: \$PTPIPD_SOCKET or \$PTPIPCTL_SOCKET, else the one
               ptpipctl uses: ptpipd.sock in /run/ptpipd as root, else in your own \$XDG_RUNTIME_DIR/ptpipd
               (or /tmp/ptpipd-UID) when it exists, else /run/ptpipd's)
  -i INSTANCE  the socket of ptpipd@INSTANCE: INSTANCE.sock in that same directory
  -o DIR       fetch every picture and write it to DIR as timelapse-NNNN.EXT; without -o the daemon
               keeps them in its capture directory and their paths are printed. A camera that hands
               over previews only (e.g. Fujifilm over Wi-Fi) gives previews either way; it says so.
  -k           keep going when a shot fails (exit 1 at the end); default: stop at the first failure
  -h           this help

Needs socat or netcat-openbsd (nc -U); PTPIPD_CLIENT=socat|nc picks one.
Exit codes: 0 all shots taken, 1 a shot failed, 2 usage, 105 ptpipd unreachable.
Example: $PROG -o ~/timelapse 120 30     # two pictures a minute for an hour
EOF
}

die() { echo "$PROG: $1" >&2; exit "${2:-1}"; }

# ptpipctl's rule: /run/ptpipd as root; else your own runtime directory's socket when it exists, else
# the system service's when that exists (members of the ptpipd group may use it), else your own.
instance_socket() {
    local own system=/run/ptpipd/$1.sock
    if [ "$(id -u)" = 0 ]; then
        own=$system
    elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
        own=${XDG_RUNTIME_DIR%/}/ptpipd/$1.sock
    else
        own=/tmp/ptpipd-$(id -u)/$1.sock
    fi
    if [ ! -S "$own" ] && [ -S "$system" ]; then echo "$system"; else echo "$own"; fi
}

socket=${PTPIPD_SOCKET:-${PTPIPCTL_SOCKET:-}}
instance=""
outdir=""
keep_going=false
while getopts ":s:i:o:kh" opt; do
    case $opt in
        s) socket=$OPTARG ;;
        i) instance=$OPTARG; socket="" ;;
        o) outdir=$OPTARG ;;
        k) keep_going=true ;;
        h) usage; exit 0 ;;
        :) usage >&2; die "option -$OPTARG needs a value" $EXIT_USAGE ;;
        *) usage >&2; die "unknown option -$OPTARG" $EXIT_USAGE ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { usage >&2; die "expected COUNT and INTERVAL" $EXIT_USAGE; }
count=$1
interval=$2
[[ $count =~ ^[1-9][0-9]*$ ]] || die "COUNT must be a positive integer, not '$count'" $EXIT_USAGE
[[ $interval =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] || die "INTERVAL must be seconds (e.g. 30 or 2.5), not '$interval'" $EXIT_USAGE

[[ -z $instance || $instance =~ ^[A-Za-z0-9_.@-]+$ && $instance != . && $instance != .. ]] \
    || die "invalid instance name '$instance': use a plain name such as 'studio'" $EXIT_USAGE
[ -n "$socket" ] || socket=$(instance_socket "${instance:-ptpipd}")
[ -S "$socket" ] || die "no ptpipd socket at $socket (is ptpipd running? use -s, -i or PTPIPD_SOCKET)" $EXIT_UNREACHABLE

client=${PTPIPD_CLIENT:-}
if [ -z "$client" ]; then
    if command -v socat >/dev/null; then client=socat; elif command -v nc >/dev/null; then client=nc; fi
fi
case $client in
    socat) command -v socat >/dev/null || die "socat is not installed" ;;
    nc) nc -h 2>&1 | grep -q -- '-U' || die "nc does not support -U: install netcat-openbsd" ;;
    *) die "need socat or netcat-openbsd (nc -U); PTPIPD_CLIENT must be socat or nc" ;;
esac

if [ -n "$outdir" ]; then
    mkdir -p -- "$outdir" || die "cannot create $outdir"
    command -v base64 >/dev/null || die "-o needs base64 (coreutils)"
fi

# One request line in, the response line out. The daemon answers, then sees our end-of-file and closes.
rpc() {
    local request=$1
    case $client in
        socat) printf '%s\n' "$request" | socat -t 120 - "UNIX-CONNECT:$socket" ;;
        nc) printf '%s\n' "$request" | nc -N -w 120 -U "$socket" ;;
    esac
}

# The value of a string member of a one-line JSON response (our fields never contain quotes), with or
# without spaces around the colon.
json_string() {
    sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p"
}

# "code message" of a JSON-RPC error response, empty for a result (members in any order).
json_error() {
    local response code message
    response=$(cat)
    grep -q '"error" *: *{' <<<"$response" || return 0
    code=$(sed -n 's/.*"error" *: *{.*"code" *: *\(-\{0,1\}[0-9]*\).*/\1/p' <<<"$response")
    message=$(sed -n 's/.*"error" *: *{.*"message" *: *"\([^"]*\)".*/\1/p' <<<"$response")
    echo "${code:-?} ${message:-(no message)}"
}

# Whether a capture result names the new picture on the camera's card (a `handle`). Without one the camera
# handed over only its preview (the Fujifilm dialect does): the picture itself stays on the card.
has_handle() {
    grep -q '"handle" *: *[0-9]'
}

status=$(rpc '{"jsonrpc": "2.0", "method": "status", "id": 0}') \
    || die "cannot talk to ptpipd on $socket" $EXIT_UNREACHABLE
[ -n "$status" ] || die "ptpipd on $socket closed the connection without answering" $EXIT_UNREACHABLE
state=$(json_string state <<<"$status")
[ "$state" = connected ] || echo "$PROG: the camera is $state; trying anyway" >&2

if [ -n "$outdir" ]; then
    request='{"jsonrpc": "2.0", "method": "capture", "params": {"inline": true}, "id": 1}'
else
    request='{"jsonrpc": "2.0", "method": "capture", "id": 1}'
fi

now() { printf '%s' "${EPOCHREALTIME/,/.}"; }

# Writes the base64 `data` of a capture response to $1 through a temporary file: never half a picture.
save_inline() {
    local file=$1 response=$2 tmp
    tmp=$(mktemp "$file.XXXXXX.part") || return 1
    if json_string data <<<"$response" | base64 -d >"$tmp" 2>/dev/null && [ -s "$tmp" ] && mv -f -- "$tmp" "$file"; then
        return 0
    fi
    rm -f -- "$tmp"
    return 1
}

warned_previews=false
back_to_back=false # INTERVAL 0: one shot right after the other, nothing to warn about
[[ $interval =~ ^0*\.?0*$ ]] && back_to_back=true
failed=0
start=$(now)
for ((i = 1; i <= count; i++)); do
    if ((i > 1)); then
        # The sleep is the feature: wait until the planned start of shot i.
        pause=$(awk -v s="$start" -v n="$i" -v d="$interval" -v t="$(now)" \
            'BEGIN { p = s + (n - 1) * d - t; printf "%.3f", (p > 0 ? p : 0) }')
        [ "$pause" = 0.000 ] && ! $back_to_back && echo "$PROG: shot $((i - 1)) took longer than the interval" >&2
        sleep "$pause"
    fi
    response=$(rpc "$request") || response=""
    error=$(json_error <<<"$response")
    if [ -z "$response" ] || [ -n "$error" ]; then
        echo "$PROG: shot $i/$count failed: ${error:-no answer from ptpipd}" >&2
        failed=$((failed + 1))
        $keep_going || exit 1
        continue
    fi
    if ! $warned_previews && ! has_handle <<<"$response"; then
        warned_previews=true
        echo "$PROG: this camera hands over previews only (its capture result names no picture on the card):" \
            "the files ${outdir:+in $outdir }are small previews; the full pictures stay on the camera's card" >&2
    fi
    if [ -n "$outdir" ]; then
        format=$(json_string format <<<"$response")
        case $format in jpeg) ext=jpg ;; "") ext=bin ;; *) ext=$format ;; esac
        file=$(printf '%s/timelapse-%04d.%s' "$outdir" "$i" "$ext")
        save_inline "$file" "$response" || die "shot $i/$count taken, but cannot write $file"
        echo "$i/$count $file"
    else
        echo "$i/$count $(json_string path <<<"$response")"
    fi
done
[ "$failed" -eq 0 ] || die "$failed of $count shots failed"
