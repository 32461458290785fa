#!/usr/bin/env bash
# Checks a running lab end to end; run it as `scripts/lab.sh check`.
#
# With hosts 1..N (N >= 2) from `lab.sh hosts`, it checks that:
#   - every daemon serves its Docker API on tcp://ADDRESS:2376 over mutual TLS,
#     rejects a client without a certificate, and no longer listens on the
#     plain-TCP port 2375;
#   - no host namespace has a default route;
#   - the root namespace reaches a port published on every host's address;
#   - a container on host N reaches a port published on host 1 and back;
#   - PostgreSQL from graphium/services:lab starts with start-postgres on host 1,
#     pg_isready succeeds, and psql on host 2 connects over host 1's address
#     with the password (and fails with a wrong one);
#   - Redis started with start-redis on host 2 replies PONG to redis-cli on host N.
# Every container it starts is named graphium-lab-check-* and removed at exit.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly PREFIX="graphium-lab-check"
readonly BUSYBOX_IMAGE="graphium/busybox:lab"
readonly SERVICES_IMAGE="graphium/services:lab"
readonly PG_PASSWORD="lab-check-secret"
# NOTE: wget here is BusyBox 1.35 from Debian 12, whose -T (timeout) option
# crashes it with a segmentation fault, so `timeout` bounds each request instead.

declare -a SOCKETS=() ADDRESSES=() ENDPOINTS=()
# The lab CA and client certificate, the same for every host.
TLS_CA="" TLS_CERT="" TLS_KEY=""
passed=0

log() {
  printf 'lab check: %s\n' "$*" >&2
}

fail() {
  printf 'lab check: FAILED: %s\n' "$*" >&2
  exit 1
}

pass() {
  passed=$((passed + 1))
  printf 'lab check: ok   %s\n' "$*" >&2
}

# Runs the docker client against host K (1-based).
host_docker() {
  local k=$1
  shift
  "${GRAPHIUM_DOCKER_CLI:-docker}" -H "unix://${SOCKETS[k - 1]}" "$@"
}

# Prints the string value of JSON field $1 in line $2.
json_field() {
  sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" <<<"$2"
}

# Reads sockets, addresses, TCP endpoints and TLS files from `lab.sh hosts`,
# which prints one host per line.
read_hosts() {
  local line
  while read -r line; do
    [[ $line == *'"socket"'* ]] || continue
    SOCKETS+=("$(json_field socket "$line")")
    ADDRESSES+=("$(json_field address "$line")")
    ENDPOINTS+=("$(json_field tcp "$line")")
    TLS_CA=$(json_field ca "$line")
    TLS_CERT=$(json_field cert "$line")
    TLS_KEY=$(json_field key "$line")
  done < <(bash "$SCRIPT_DIR/lab.sh" hosts)
  if ((${#SOCKETS[@]} < 2)); then
    fail "the check needs at least 2 running lab hosts, found ${#SOCKETS[@]}; run scripts/lab.sh up 3"
  fi
}

remove_check_containers() {
  local k ids
  for ((k = 1; k <= ${#SOCKETS[@]}; k++)); do
    ids=$(host_docker "$k" ps -aq --filter "name=$PREFIX" 2>/dev/null || true)
    if [[ -n $ids ]]; then
      # One container id per word.
      # shellcheck disable=SC2086
      host_docker "$k" rm -f $ids >/dev/null 2>&1 || true
    fi
  done
}

# Prints the host port that container $2 on host $1 publishes for $3 (e.g. 80/tcp).
published_port() {
  local mapping
  mapping=$(host_docker "$1" port "$2" "$3" | head -n 1)
  [[ -n $mapping ]] || fail "host$1: container $2 publishes no port for $3"
  printf '%s\n' "${mapping##*:}"
}

# Checks each host's TCP endpoint: a client with the lab certificate gets a response,
# a client without a certificate is rejected, and port 2375 is closed.
check_tls() {
  local k endpoint
  for ((k = 1; k <= ${#SOCKETS[@]}; k++)); do
    endpoint=${ENDPOINTS[k - 1]}
    "${GRAPHIUM_DOCKER_CLI:-docker}" --tlsverify --tlscacert "$TLS_CA" --tlscert "$TLS_CERT" \
      --tlskey "$TLS_KEY" -H "$endpoint" version --format '{{.Server.Version}}' >/dev/null ||
      fail "host$k: no response over mutual TLS at $endpoint with the client certificate $TLS_CERT"
    if "${GRAPHIUM_DOCKER_CLI:-docker}" --tlsverify --tlscacert "$TLS_CA" -H "$endpoint" \
      version --format '{{.Server.Version}}' >/dev/null 2>&1; then
      fail "host$k: $endpoint accepted a client without a certificate"
    fi
    if timeout 5 bash -c "exec 3<>/dev/tcp/${ADDRESSES[k - 1]}/2375" 2>/dev/null; then
      fail "host$k: the plain-TCP port ${ADDRESSES[k - 1]}:2375 accepts connections"
    fi
  done
  pass "each of ${#SOCKETS[@]} hosts serves mutual TLS on port 2376, rejects a client without a certificate and has port 2375 closed"
}

check_no_default_route() {
  local k routes
  for ((k = 1; k <= ${#SOCKETS[@]}; k++)); do
    routes=$(ip -n "graphium-h$k" route show default)
    [[ -z $routes ]] || fail "host$k: namespace graphium-h$k has a default route: $routes"
  done
  pass "no host namespace has a default route"
}

# Starts a busybox web server on every host, serving the text "hostK", and
# fetches it from the root namespace through each host's address.
check_root_reaches_hosts() {
  local k port body
  for ((k = 1; k <= ${#SOCKETS[@]}; k++)); do
    host_docker "$k" run -d --name "$PREFIX-web" -p 80 "$BUSYBOX_IMAGE" \
      sh -c "mkdir -p /www && echo host$k >/www/index.html && exec httpd -f -p 80 -h /www" >/dev/null
    port=$(published_port "$k" "$PREFIX-web" 80/tcp)
    WEB_PORTS[k]=$port
    body=$(retry timeout 10 busybox wget -q -O - "http://${ADDRESSES[k - 1]}:$port/") ||
      fail "root namespace could not fetch http://${ADDRESSES[k - 1]}:$port/ from host$k"
    [[ $body == "host$k" ]] || fail "http://${ADDRESSES[k - 1]}:$port/ returned '$body', expected 'host$k'"
  done
  pass "root namespace reaches a published port on each of ${#SOCKETS[@]} hosts"
}

check_cross_host() {
  local last=${#SOCKETS[@]} body
  body=$(host_docker "$last" run --rm --name "$PREFIX-client" "$BUSYBOX_IMAGE" \
    timeout 10 wget -q -O - "http://${ADDRESSES[0]}:${WEB_PORTS[1]}/") ||
    fail "a container on host$last could not fetch http://${ADDRESSES[0]}:${WEB_PORTS[1]}/"
  [[ $body == host1 ]] || fail "host$last -> host1 returned '$body', expected 'host1'"
  pass "container on host$last reaches host1's published port at ${ADDRESSES[0]}:${WEB_PORTS[1]}"

  body=$(host_docker 1 run --rm --name "$PREFIX-client" "$BUSYBOX_IMAGE" \
    timeout 10 wget -q -O - "http://${ADDRESSES[last - 1]}:${WEB_PORTS[last]}/") ||
    fail "a container on host1 could not fetch http://${ADDRESSES[last - 1]}:${WEB_PORTS[last]}/"
  [[ $body == "host$last" ]] || fail "host1 -> host$last returned '$body', expected 'host$last'"
  pass "container on host1 reaches host$last's published port at ${ADDRESSES[last - 1]}:${WEB_PORTS[last]}"
}

check_postgres() {
  local port result deadline
  host_docker 1 run -d --name "$PREFIX-pg" -p 5432 \
    -e POSTGRES_USER=graphium -e POSTGRES_PASSWORD="$PG_PASSWORD" -e POSTGRES_DB=graphium_check \
    "$SERVICES_IMAGE" start-postgres >/dev/null
  deadline=$((SECONDS + 60))
  until host_docker 1 exec "$PREFIX-pg" pg_isready -q -U graphium >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      host_docker 1 logs --tail 20 "$PREFIX-pg" >&2 || true
      fail "host1: pg_isready did not succeed within 60 s"
    fi
    sleep 0.5
  done
  pass "start-postgres on host1 runs and pg_isready succeeds"

  port=$(published_port 1 "$PREFIX-pg" 5432/tcp)
  result=$(host_docker 2 run --rm --name "$PREFIX-psql" -e PGPASSWORD="$PG_PASSWORD" "$SERVICES_IMAGE" \
    psql -h "${ADDRESSES[0]}" -p "$port" -U graphium -d graphium_check -tAc 'select current_database()') ||
    fail "psql on host2 could not connect to ${ADDRESSES[0]}:$port"
  [[ $result == graphium_check ]] || fail "psql on host2 returned '$result', expected 'graphium_check'"
  pass "psql on host2 connects to PostgreSQL at ${ADDRESSES[0]}:$port with the password"

  if host_docker 2 run --rm --name "$PREFIX-psql" -e PGPASSWORD=wrong-password "$SERVICES_IMAGE" \
    psql -h "${ADDRESSES[0]}" -p "$port" -U graphium -d graphium_check -tAc 'select 1' >/dev/null 2>&1; then
    fail "psql on host2 connected with a wrong password; pg_hba.conf should require md5"
  fi
  pass "psql with a wrong password is rejected"
}

check_redis() {
  local last=${#SOCKETS[@]} port reply
  host_docker 2 run -d --name "$PREFIX-redis" -p 6379 "$SERVICES_IMAGE" start-redis >/dev/null
  port=$(published_port 2 "$PREFIX-redis" 6379/tcp)
  reply=$(retry host_docker "$last" run --rm --name "$PREFIX-redis-cli" "$SERVICES_IMAGE" \
    redis-cli -h "${ADDRESSES[1]}" -p "$port" ping) ||
    fail "redis-cli on host$last could not reach ${ADDRESSES[1]}:$port"
  [[ $reply == PONG ]] || fail "redis-cli on host$last got '$reply', expected PONG"
  pass "redis-cli on host$last gets PONG from start-redis on host2 at ${ADDRESSES[1]}:$port"
}

# Runs a command up to 5 times, 1 s apart, for servers that are still starting,
# and prints the output of the first success.
retry() {
  local attempt output
  for attempt in 1 2 3 4 5; do
    if output=$("$@" 2>/dev/null) && [[ -n $output ]]; then
      printf '%s\n' "$output"
      return 0
    fi
    ((attempt < 5)) && sleep 1
  done
  return 1
}

main() {
  [[ $(id -u) -eq 0 ]] || fail "the check needs root to use the lab's Docker sockets"
  command -v busybox >/dev/null || fail "busybox not found; run scripts/setup.sh"
  declare -ga WEB_PORTS=()
  read_hosts
  trap remove_check_containers EXIT
  remove_check_containers
  local start=$SECONDS

  check_tls
  check_no_default_route
  check_root_reaches_hosts
  check_cross_host
  check_postgres
  check_redis

  log "all $passed checks passed on ${#SOCKETS[@]} hosts in $((SECONDS - start)) s"
}

main "$@"
