#!/usr/bin/env bash
# Brings up a single-node Skiff cluster on the embedded SQLite store with default settings: the
# control plane, and this machine as its node (pods run in runc containers on a CNI bridge; Services
# work through the iptables proxy, Kubernetes' default mode).
# Idempotent: builds only what changed, and leaves an already running skiffd alone.
#   DATA_DIR (default /var/lib/skiff) holds the database, the log and the pid file.
#   SKIFF_AGENT__RUNTIME= (empty) starts the control plane alone; SKIFF_PROXY__MODE=nftables (or
#   userspace) swaps the proxy mode. Like every SKIFF_* variable they reach skiffd as config.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${DATA_DIR:-/var/lib/skiff}
export SKIFF_AGENT__RUNTIME=${SKIFF_AGENT__RUNTIME-runc}
export SKIFF_PROXY__MODE=${SKIFF_PROXY__MODE-iptables}
bash scripts/build.sh

mkdir -p "$DATA_DIR"
pidfile="$DATA_DIR/skiffd.pid"
log="$DATA_DIR/skiffd.log"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "skiff: skiffd is already running (pid $(cat "$pidfile")), data in $DATA_DIR"
else
  nohup build/bin/skiffd --data-dir "$DATA_DIR" >>"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    grep -q 'msg=ready' "$log" 2>/dev/null && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "skiff: skiffd exited; last lines of $log:" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q 'msg=ready' "$log" || { echo "skiff: skiffd did not report ready; see $log" >&2; exit 1; }
  echo "skiff: skiffd started (pid $(cat "$pidfile")), store: sqlite at $DATA_DIR/skiff.db," \
    "node agent: ${SKIFF_AGENT__RUNTIME:-off}, proxy: ${SKIFF_PROXY__MODE:-off}"
fi
echo "skiff: reach it with: export KUBECONFIG=$DATA_DIR/kubeconfig; kubectl get nodes   (or build/bin/skiff cluster status)"
echo "skiff: images come from OCI archives (no internet registry here):" \
  "build/bin/skiff image import ./app.tar --name example.com/app:1 --data-dir $DATA_DIR"
echo "skiff: log: $log    stop: kill \$(cat $pidfile)"
echo "skiff: loaded plugins: build/bin/skiff plugins"
