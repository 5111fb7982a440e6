#!/usr/bin/env bash
# The peer for BM_PodCreates: how many durable writes per second etcd itself, the store under
# Kubernetes' API server, takes on this machine. No API server runs in front of it, so this is a
# ceiling for kube-apiserver's creates here, not a measure of them.
#
# It starts a throwaway etcd (Debian's etcd-server, installed if missing) on 127.0.0.1 with its data in
# a temporary directory, and drives it as BM_PodCreates/wrk:1 drives skiffd: wrk, one thread, 64
# connections, 10 s, a new key per request. Values are 1,080 bytes, the size skiffd stores for the
# bench's pod. Requests go through etcd's JSON gateway (/v3/kv/put), HTTP/1.1 like skiff's; then
# `etcdctl check perf --load=l` runs etcd's own gRPC write check for comparison. While wrk writes, a
# second wrk reads one key over one connection, 2 ms after each answer (bench_api's GET probe), and
# reports its latency percentiles.
#
#   sudo bench/api/etcd_peer.sh            # prints puts/s and the latency percentiles
#   RUNS=3 sudo bench/api/etcd_peer.sh     # repeated, each run on a fresh data dir
set -euo pipefail

runs=${RUNS:-1}
client_port=23790
peer_port=23800

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  echo "etcd_peer: installing etcd-server and etcd-client" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server etcd-client >/dev/null
fi
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null

work=$(mktemp -d /tmp/skiff-etcd-peer.XXXXXX)
etcd_pid=
cleanup() {
  [[ -n "$etcd_pid" ]] && kill "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Keys and values must be base64 on the gateway. The value is encoded once; a key is a fixed encoded
# prefix and the request counter written in base64 digits, so every key is new and nothing is encoded
# per request (wrk's one thread must not become the bottleneck).
cat >"$work/put.lua" <<'EOF'
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function digits(n)
  local out = {}
  for i = 8, 1, -1 do
    local d = n % 64
    out[i] = alphabet:sub(d + 1, d + 1)
    n = (n - d) / 64
  end
  return table.concat(out)
end
-- 1,080 bytes of value: 1,440 base64 characters.
local value = string.rep("eHh4", 360)
-- Base64 texts join into the base64 of the joined bytes only at 3-byte boundaries: the prefix is 24
-- bytes, "/registry/pods/default/w" = L3JlZ2lzdHJ5L3BvZHMvZGVmYXVsdC93, and each 8-digit group 6.
math.randomseed(os.time())
local run = digits(math.random(0, 2^40))
local prefix = "L3JlZ2lzdHJ5L3BvZHMvZGVmYXVsdC93" .. run
local counter = 0
request = function()
  counter = counter + 1
  local body = '{"key":"' .. prefix .. digits(counter) .. '","value":"' .. value .. '"}'
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"]="application/json"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("etcd_peer: puts/s=%.0f failed=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests / (summary.duration / 1e6), e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
EOF
cat >"$work/range.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- "/registry/pods/default/probe"
wrk.body = '{"key":"L3JlZ2lzdHJ5L3BvZHMvZGVmYXVsdC9wcm9iZQ=="}'
delay = function() return 2 end
done = function(summary, latency, requests)
  io.write(string.format("etcd_peer: range under the put load: requests=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
EOF

for ((i = 1; i <= runs; i++)); do
  rm -rf "$work/data"
  etcd --data-dir "$work/data" --name peer \
    --listen-client-urls "http://127.0.0.1:$client_port" --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "peer=http://127.0.0.1:$peer_port" --quota-backend-bytes 8589934592 \
    >"$work/etcd.log" 2>&1 &
  etcd_pid=$!
  for ((t = 0; t < 100; t++)); do
    curl -sf "http://127.0.0.1:$client_port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf "http://127.0.0.1:$client_port/health" >/dev/null || { cat "$work/etcd.log" >&2; exit 1; }
  echo "etcd_peer: run $i of $runs: wrk, 64 connections, 10 s, 1,080-byte values" >&2
  curl -sf -X POST "http://127.0.0.1:$client_port/v3/kv/put" \
    -d '{"key":"L3JlZ2lzdHJ5L3BvZHMvZGVmYXVsdC9wcm9iZQ==","value":"eHh4"}' >/dev/null
  wrk -t1 -c1 -d10s -s "$work/range.lua" "http://127.0.0.1:$client_port/v3/kv/range" >"$work/range.out" &
  range_pid=$!
  wrk -t1 -c64 -d10s -s "$work/put.lua" "http://127.0.0.1:$client_port" | grep '^etcd_peer:'
  wait "$range_pid"
  grep '^etcd_peer:' "$work/range.out"
  echo "etcd_peer: run $i of $runs: etcdctl check perf --load=l" >&2
  ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$client_port" check perf --load=l 2>&1 |
    grep -E 'Throughput|Slowest|PASS|FAIL' | sed 's/^/etcd_peer: check perf: /' || true
  kill "$etcd_pid"
  wait "$etcd_pid" 2>/dev/null || true
  etcd_pid=
done
