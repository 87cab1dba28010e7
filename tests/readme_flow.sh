#!/usr/bin/env bash
# The README's walk-through, with curl alone, against the real server binary:
# log in as the first admin, change the seeded password, register a second account, call
# /api/auth/me with the cookie and with the bearer token, change the password (older tokens
# then get 401 and the response carries a fresh session), and log out.
#
# Usage: tests/readme_flow.sh [path/to/trek-server]   (default: target/release/trek-server)
# Everything happens in a temporary folder on 127.0.0.1; the server is stopped at the end.
set -euo pipefail

bin=${1:-target/release/trek-server}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "readme_flow: FAIL: $*" >&2; echo "--- server output ---" >&2; cat "$work/out.log" >&2; exit 1; }
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

cd "$work"
HOST=127.0.0.1 PORT=0 "$bin" > out.log 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q 'trek API started' out.log 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/.*trek API started addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' out.log | head -n1)
[ -n "$port" ] || fail "server did not start"
base="http://127.0.0.1:$port"
admin_password=$(sed -n 's/^  Password: //p' out.log | head -n1)
[ -n "$admin_password" ] || fail "no generated admin password on stdout"
grep -q "$admin_password" data/logs/trek.log && fail "the admin password reached the log file"

status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# 1. Log in as the first admin; the seeded password must be changed before anything else.
login=$(curl -s -c admin.jar -H 'Content-Type: application/json' \
  -d "{\"email\":\"admin@trek.local\",\"password\":\"$admin_password\"}" "$base/api/auth/login")
admin_token=$(echo "$login" | json_field token)
[ -n "$admin_token" ] || fail "admin login: $login"
[ "$(status -X DELETE -b admin.jar "$base/api/auth/me")" = 403 ] || fail "must_change_password not enforced"
changed=$(curl -s -b admin.jar -c admin.jar -X PUT -H 'Content-Type: application/json' \
  -d "{\"current_password\":\"$admin_password\",\"new_password\":\"Adm1n!Changed#1\"}" "$base/api/auth/me/password")
echo "$changed" | grep -q '"success":true' || fail "admin password change: $changed"

# 2. Register a second account.
reg=$(curl -s -c bob.jar -H 'Content-Type: application/json' \
  -d '{"username":"bob","email":"bob@example.test","password":"B0b!Traveller#7"}' "$base/api/auth/register")
bob_token=$(echo "$reg" | json_field token)
[ -n "$bob_token" ] || fail "register: $reg"

# 3. /api/auth/me with the cookie and with the bearer token.
curl -s -b bob.jar "$base/api/auth/me" | grep -q '"username":"bob"' || fail "me with cookie"
curl -s -H "Authorization: Bearer $bob_token" "$base/api/auth/me" | grep -q '"username":"bob"' || fail "me with bearer"

# 4. Change the password: the old token dies, the response carries a fresh session.
changed=$(curl -s -b bob.jar -c bob.jar -X PUT -H 'Content-Type: application/json' \
  -d '{"current_password":"B0b!Traveller#7","new_password":"B0b!Traveller#8"}' "$base/api/auth/me/password")
fresh=$(echo "$changed" | json_field token)
[ -n "$fresh" ] || fail "password change: $changed"
[ "$(status -H "Authorization: Bearer $bob_token" "$base/api/auth/me")" = 401 ] || fail "old token still works"
[ "$(status -H "Authorization: Bearer $fresh" "$base/api/auth/me")" = 200 ] || fail "fresh token refused"
[ "$(status -b bob.jar "$base/api/auth/me")" = 200 ] || fail "fresh cookie refused"

# 5. Log out: the cookie is cleared.
curl -s -b bob.jar -c bob.jar -X POST "$base/api/auth/logout" | grep -q '"success":true' || fail "logout"
[ "$(status -b bob.jar "$base/api/auth/me")" = 401 ] || fail "cookie survived logout"

echo "readme_flow: ok"
