#!/usr/bin/env bash
# The baseline for `make bench`: the TCP exchange of scenarios/tcp.yaml scripted as a person would with
# docker-compose v1: up, exec the server, exec the client with two lines, netstat, Ctrl-C, stop the
# capture, count the SYNs with tshark, down. Waits poll for their condition (no fixed sleeps).
set -euo pipefail
cd "$(dirname "$0")/.."
COMPOSE=${COMPOSE:-docker-compose}
dc() { $COMPOSE -p socklabbench -f compose.yaml "$@"; }
poll() {  # poll CMD... until it succeeds (10 s at most)
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "timed out waiting for: $*" >&2; return 1
}
export SOCKLAB_RUN=bench SOCKLAB_CAPTURES="$(mktemp -d)"
chmod 777 "$SOCKLAB_CAPTURES"
trap 'dc down --timeout 1 >/dev/null 2>&1; rm -rf "$SOCKLAB_CAPTURES"' EXIT
dc up -d >/dev/null 2>&1
poll sh -c "docker logs \$(docker ps -q --filter label=com.docker.compose.project=socklabbench --filter label=com.docker.compose.service=capture) 2>&1 | grep -q 'listening on'"
dc exec -T -d server sh -c 'echo $$ > /tmp/server.pid; exec python3 -u server_tcp.py 0.0.0.0 5000 > /tmp/server.log 2>&1'
poll dc exec -T server sh -c 'ss -Hltn | grep -q ":5000 "'
printf 'hello\nolá\n' | dc exec -T client python3 -u client_tcp.py server 5000 >/dev/null
dc exec -T server netstat -tuna >/dev/null
dc exec -T server sh -c 'kill -INT $(cat /tmp/server.pid)'
poll dc exec -T server grep -q 'Caught keyboard interrupt' /tmp/server.log
dc stop capture >/dev/null 2>&1
pcap=$(ls "$SOCKLAB_CAPTURES"/*.pcap)
docker run --rm --network none -u analyst -v "$SOCKLAB_CAPTURES:/c:ro" socklab/capture:latest \
  tshark -n -r "/c/$(basename "$pcap")" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==5000' | grep -q .
