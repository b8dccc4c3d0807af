#!/usr/bin/env bash
# legacy.sh: commands of the seed tool's plain-text protocol, sent to ptpipd's legacy listener with nc.
set -euo pipefail

PROG=${0##*/}
EXIT_USAGE=2
EXIT_UNREACHABLE=105

usage() {
    cat <<EOF
usage: $PROG [-a HOST:PORT] [-w SECONDS] [COMMAND...]

Sends each COMMAND (quote it: 'get iso') over its own TCP connection to ptpipd's legacy text listener,
as the seed tool's server mode expects, and prints what the daemon answers. Without COMMANDs, reads
them from standard input, one per line.

  -a HOST:PORT  the listener (default: \$PTPIPD_LEGACY, else 127.0.0.1:15740); it is on when the config
                has [server] enabled = true, ptpipd runs with --legacy, or ptpipd-legacy.socket is active
  -w SECONDS    give up on a connection idle this long (default 60)
  -h            this help

Commands: capture [PATH] (shoot, shutter, snap), info [json [pretty]], get PROP, set PROP VALUE,
describe PROP [json [pretty]], state [json [pretty]], opreq 0xCODE [0xPARAM], help.
Needs netcat-openbsd. Exit codes: 0 every command answered, 1 a command got no answer, 2 usage,
105 nothing listens there.
Example: $PROG 'set iso 800' 'get iso' 'capture'
EOF
}

die() { echo "$PROG: $1" >&2; exit "${2:-1}"; }

address=${PTPIPD_LEGACY:-127.0.0.1:15740}
wait_s=60
while getopts ":a:w:h" opt; do
    case $opt in
        a) address=$OPTARG ;;
        w) wait_s=$OPTARG ;;
        h) usage; exit 0 ;;
        :) usage >&2; die "option -$OPTARG needs a value" $EXIT_USAGE ;;
        *) usage >&2; die "unknown option -$OPTARG" $EXIT_USAGE ;;
    esac
done
shift $((OPTIND - 1))

[[ $address =~ ^(.+):([0-9]+)$ ]] || die "address must be HOST:PORT, not '$address'" $EXIT_USAGE
host=${BASH_REMATCH[1]}
port=${BASH_REMATCH[2]}
host=${host#[}
host=${host%]}
((10#$port >= 1 && 10#$port <= 65535)) || die "the port must be 1 to 65535, not $port" $EXIT_USAGE
[[ $wait_s =~ ^[1-9][0-9]*$ ]] || die "-w needs whole seconds, not '$wait_s'" $EXIT_USAGE
command -v nc >/dev/null || die "nc is not installed (netcat-openbsd)"

# nc's own complaints (unknown host…) go here, never into what is printed as the daemon's answer.
errors=$(mktemp) || die "cannot create a temporary file"
trap 'rm -f -- "$errors"' EXIT

send() {
    local command=$1 output problem
    # -N: end our side after the command, so the server knows the request is complete; the server answers
    # and closes (one command per connection, as the seed's server mode).
    if ! output=$(printf '%s\n' "$command" | nc -N -w "$wait_s" "$host" "$port" 2>"$errors") && [ -z "$output" ]; then
        problem=$(head -c 300 "$errors" | tr '\n' ' ')
        die "nothing answers on $host:$port${problem:+: ${problem% }} (is ptpipd's legacy listener on? see -h)" \
            $EXIT_UNREACHABLE
    fi
    if [ -z "$output" ]; then
        echo "$PROG: no answer to '$command'" >&2
        return 1
    fi
    printf '%s\n' "$output"
}

status=0
if [ $# -gt 0 ]; then
    for command in "$@"; do
        send "$command" || status=1
    done
else
    while IFS= read -r command || [ -n "$command" ]; do
        [ -n "${command// /}" ] || continue
        send "$command" || status=1
    done
fi
exit $status
