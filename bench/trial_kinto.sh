#!/usr/bin/env bash
# Kinto trial (make trial): soakmon run against a third-party service, as a new user would.
# Installs Kinto (PyPI `kinto`, pinned) into a private venv under .tools/, serves it on
# 127.0.0.1 with the memory backend (bounded: the server stops after TRIAL_MAX_S seconds),
# then runs scenarios/examples/kinto.yaml TRIAL_RUNS times per --sync mode, one attempt each,
# TRIAL_ATTEMPTS (5) attempts each, all run (--attempts-all: the per-attempt rate), and prints
# per mode and scenario the attempt verdicts and send spreads (reports/trial-kinto/).
set -euo pipefail
cd "$(dirname "$0")/.."
KINTO_VERSION=${KINTO_VERSION:-26.5.0}
RUNS=${TRIAL_RUNS:-10}
MODES=${TRIAL_MODES:-"none last-byte"}
MAX_S=${TRIAL_MAX_S:-900}
UV=$(command -v uv || echo .tools/bin/uv)
VENV=.tools/trial-kinto
OUT=reports/trial-kinto
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import kinto,sys; sys.exit(kinto.__version__ != '$KINTO_VERSION')" 2>/dev/null; then
  "$UV" venv -q "$VENV"
  VIRTUAL_ENV=$VENV "$UV" pip install -q "kinto==$KINTO_VERSION"
fi
# the console script's shebang names the interpreter of whichever checkout built the venv (a
# moved or deleted worktree leaves it dead), so Kinto's main is called through the venv's python
KINTO=("$VENV/bin/python" -c 'import sys; from kinto.__main__ import main; sys.exit(main())')
PORT=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
INI=$OUT/kinto.ini
"${KINTO[@]}" init --ini "$INI" --backend memory --cache-backend memory >/dev/null 2>&1
# accounts may create buckets (the default config lets only the admin)
sed -i 's/^kinto.bucket_create_principals = .*/kinto.bucket_create_principals = system.Authenticated/' "$INI"
timeout "$MAX_S" "${KINTO[@]}" start --ini "$INI" --port "$PORT" >"$OUT/kinto.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/v1/" >/dev/null && break; sleep 0.2; done
echo "kinto $KINTO_VERSION on http://127.0.0.1:$PORT (memory backend); load: $(cut -d' ' -f1-3 /proc/loadavg)"
# seeds differ per mode: a seed fixes the user names too, and Kinto keeps the accounts of the
# previous runs (a repeated name's PUT /accounts answers 401)
offset=0
for mode in $MODES; do
  offset=$((offset + 1000))
  for i in $(seq 1 "$RUNS"); do
    rc=0
    .venv/bin/soakmon run scenarios/examples/kinto.yaml --profile scenarios/examples/kinto-profile.yaml \
      --target "http://127.0.0.1:$PORT" --sync "$mode" --attempts "${TRIAL_ATTEMPTS:-5}" --attempts-all --seed "$((offset + i))" \
      --json "$OUT/$mode-$i.json" >"$OUT/$mode-$i.out" 2>&1 || rc=$?
    echo "$mode run $i: exit $rc (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
.venv/bin/python -m bench.trial_summary "$OUT"/*.json
