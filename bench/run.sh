#!/usr/bin/env bash
# Server load benchmark: builds release binaries and measures, in one run, on loopback only:
#   a bare poem handler (the framework's ceiling), trek's GET /api/health, GET /api/auth/me with
#   a bearer token and with the cookie, login throughput, /api/health p50/p99 idle and during a
#   login storm from many loopback source addresses, and trek's RSS idle and at 256 connections.
# Prints a table and the ratios the targets in BENCHMARKS.md are stated in.
#
# Usage: bench/run.sh [seconds per measurement, default 10]      (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { echo "bench: wrk is needed (apt-get install wrk)" >&2; exit 1; }

cargo build --release -q -p trek-server -p trek-bench
bin=$PWD/target/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

bare_port=39871 trek_port=39872
"$bin/bare-poem" "$bare_port" & pids+=($!)
mkdir -p "$work/trek" && cd "$work/trek"
HOST=127.0.0.1 PORT=$trek_port ADMIN_EMAIL=admin@bench.test ADMIN_PASSWORD='Adm1n!Bench#42' \
  "$bin/trek-server" > server.log 2>&1 & trek_pid=$!; pids+=($trek_pid)
cd - >/dev/null
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$trek_port/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$bare_port/api/health" >/dev/null 2>&1 && break; sleep 0.1; done

base="http://127.0.0.1:$trek_port"
token=$(curl -s -H 'Content-Type: application/json' -d '{"email":"admin@bench.test","password":"Adm1n!Bench#42"}' \
  "$base/api/auth/login" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
token=$(curl -s -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"current_password":"Adm1n!Bench#42","new_password":"Adm1n!Bench#43"}' "$base/api/auth/me/password" \
  | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "bench: could not obtain a session" >&2; exit 1; }

rss_kb() { awk "/^$2:/ {print \$2}" "/proc/$1/status"; }
idle_rss=$(rss_kb "$trek_pid" VmRSS)

# wrk's "Requests/sec" and latency percentiles, in requests/s and milliseconds.
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ {print $5}' "$1" | grep . || echo 0; }
errors() { awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' "$1" | grep . || echo 0; }
pct() {
  awk -v p="$2%" '$1 == p { v = $2; if (v ~ /us$/) { sub("us", "", v); v /= 1000 } else if (v ~ /ms$/) { sub("ms", "", v) } else if (v ~ /s$/) { sub("s", "", v); v *= 1000 } print v }' "$1"
}
load() { wrk -t1 -c64 -d"${secs}s" "$@"; }

load "http://127.0.0.1:$bare_port/api/health" > "$work/bare.txt"
load "$base/api/health" > "$work/health.txt"
load -H "Authorization: Bearer $token" "$base/api/auth/me" > "$work/me_bearer.txt"
load -H "Cookie: trek_session=$token" "$base/api/auth/me" > "$work/me_cookie.txt"
wrk -t1 -c8 -d"${secs}s" --latency "$base/api/health" > "$work/idle.txt"

"$bin/storm" "$trek_port" "$((secs + 2))" 32 > "$work/storm.json" & storm_pid=$!
sleep 1
wrk -t1 -c8 -d"${secs}s" --latency "$base/api/health" > "$work/stormy.txt"
wait "$storm_pid"

wrk -t1 -c256 -d"${secs}s" "$base/api/health" > "$work/c256.txt"
peak_rss=$(rss_kb "$trek_pid" VmHWM)

bare=$(rps "$work/bare.txt"); health=$(rps "$work/health.txt")
me_b=$(rps "$work/me_bearer.txt"); me_c=$(rps "$work/me_cookie.txt")
idle50=$(pct "$work/idle.txt" 50); idle99=$(pct "$work/idle.txt" 99)
storm50=$(pct "$work/stormy.txt" 50); storm99=$(pct "$work/stormy.txt" 99)
logins=$(sed -n 's/.*"per_second":\([0-9.]*\).*/\1/p' "$work/storm.json")
login_failed=$(sed -n 's/.*"failed":\([0-9]*\).*/\1/p' "$work/storm.json")
storm_non2xx=$(non2xx "$work/stormy.txt"); storm_err=$(errors "$work/stormy.txt")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); ${secs}s per run, wrk -t1"
printf '%-44s %14s\n' "measurement" "value"
printf '%-44s %14.0f\n' "bare poem GET /api/health (req/s)" "$bare"
printf '%-44s %14.0f\n' "trek GET /api/health (req/s)" "$health"
printf '%-44s %14.0f\n' "trek GET /api/auth/me, bearer (req/s)" "$me_b"
printf '%-44s %14.0f\n' "trek GET /api/auth/me, cookie (req/s)" "$me_c"
printf '%-44s %14.1f\n' "login throughput during storm (logins/s)" "$logins"
printf '%-44s %14s\n' "/api/health p50 / p99 idle (ms)" "$idle50 / $idle99"
printf '%-44s %14s\n' "/api/health p50 / p99 in login storm (ms)" "$storm50 / $storm99"
printf '%-44s %14s\n' "failed requests in storm (health, logins)" "$((storm_non2xx + storm_err)), $login_failed"
printf '%-44s %14s\n' "RSS idle / peak at 256 connections (MB)" "$((idle_rss / 1024)) / $((peak_rss / 1024))"
echo
echo "ratios (targets in BENCHMARKS.md)"
printf '%-44s %14s\n' "health / bare poem (target >= 0.70)" "$(ratio "$health" "$bare")"
printf '%-44s %14s\n' "me bearer / bare poem (target >= 0.25)" "$(ratio "$me_b" "$bare")"
printf '%-44s %14s\n' "me cookie / bare poem (target >= 0.25)" "$(ratio "$me_c" "$bare")"
printf '%-44s %14s\n' "storm p99 / idle p99 (target <= 3)" "$(ratio "$storm99" "$idle99")"
