#!/usr/bin/env bash
# Runs a local lab of Docker hosts on this machine, for Graphium's tests and demo.
#
# Usage:
#   lab.sh up [N]        start hosts 1..N (default 3) and load the lab images;
#                        hosts already running with the current configuration
#                        are left alone, others (such as a daemon an older
#                        lab.sh started on plain TCP port 2375) are restarted
#   lab.sh down [--purge]  stop every host and remove the lab's network; --purge
#                        also deletes the hosts' data roots (images, containers)
#   lab.sh status        print one line per host, exit 1 when a host is down
#   lab.sh hosts         print the hosts as a JSON array, with the TLS files
#                        a client needs for their TCP endpoints
#   lab.sh check         run containers across the hosts and check that they
#                        reach each other (needs at least 2 hosts)
#
# Host K (hostK) is the network namespace graphium-hK, joined by a veth pair to
# the bridge graphium-br0 (10.213.0.1/24) in the root namespace, at address
# 10.213.0.(10+K). Each host runs its own dockerd with:
#   socket     /run/graphium-lab/hK/docker.sock (root only)
#   TCP        tcp://10.213.0.(10+K):2376, mutual TLS: the daemon accepts only
#              clients with a certificate signed by the lab CA
#   data root  /var/lib/graphium-lab/hK (kept by `down`, so images stay cached)
#   log        /run/graphium-lab/hK/dockerd.log
# The lab CA, each host's server certificate and one client certificate are
# in /var/lib/graphium-lab/tls (private keys 0600). `up` creates them once and
# renews one only when it is missing, expires within 30 days, no longer
# matches the CA or its key, or lacks the host's name or address.
# `down --purge` deletes them with the data roots.
# The namespaces have no default route, so nothing in the lab reaches an
# address outside this machine. Hosts 1-2 are in datacenter lab-a, the rest in lab-b.
#
# Environment:
#   GRAPHIUM_LAB_START_TIMEOUT  seconds to wait for a dockerd to respond (default 90)
#   GRAPHIUM_DOCKER_CLI         docker client to use (default /usr/bin/docker, from docker.io)
#   GRAPHIUM_CACHE              image cache folder, see scripts/lab-images.sh
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly BRIDGE="graphium-br0"
readonly NET_PREFIX="10.213.0"
readonly BRIDGE_ADDRESS="$NET_PREFIX.1"
readonly RUN_ROOT="/run/graphium-lab"
readonly DATA_ROOT="/var/lib/graphium-lab"
readonly TLS_DIR="$DATA_ROOT/tls"
readonly TLS_PORT=2376
# Certificates are renewed when they expire within this many days.
readonly CERT_RENEW_DAYS=30
readonly CA_DAYS=3650
readonly LEAF_DAYS=825
# Outside RUN_ROOT, so `down --purge` can remove RUN_ROOT while holding the lock.
readonly LOCK_FILE="/run/graphium-lab.lock"
# Highest host count the address plan allows: pools 10.(220+K).0.0/16 end at 10.255.
readonly MAX_HOSTS=35
readonly DEFAULT_HOSTS=3
readonly START_TIMEOUT="${GRAPHIUM_LAB_START_TIMEOUT:-90}"
# dockerd stops running containers first (up to its 15 s --shutdown-timeout).
readonly STOP_TIMEOUT=45
readonly FORWARD_RULE=(FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "graphium lab bridge" -j ACCEPT)
readonly CLEAN_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

log() {
  printf 'lab: %s\n' "$*" >&2
}

die() {
  printf 'lab: error: %s\n' "$*" >&2
  exit 1
}

# Prints the docker client to use. docker.io's client matches the lab's dockerd
# 20.10; a newer client found first on PATH also works but negotiates an older
# API version.
resolve_docker_cli() {
  if [[ -n ${GRAPHIUM_DOCKER_CLI:-} ]]; then
    printf '%s\n' "$GRAPHIUM_DOCKER_CLI"
  elif [[ -x /usr/bin/docker ]]; then
    echo /usr/bin/docker
  else
    command -v docker || die "docker client not found; run scripts/setup.sh"
  fi
}

docker_cli() {
  "$DOCKER_CLI" "$@"
}

# --- names and paths of host K ---------------------------------------------

netns_name() { printf 'graphium-h%s' "$1"; }
netns_path() { printf '/run/netns/graphium-h%s' "$1"; }
veth_name() { printf 'graphium-v%s' "$1"; }
host_address() { printf '%s.%s' "$NET_PREFIX" "$((10 + $1))"; }
host_dir() { printf '%s/h%s' "$RUN_ROOT" "$1"; }
host_socket() { printf '%s/h%s/docker.sock' "$RUN_ROOT" "$1"; }
host_pidfile() { printf '%s/h%s/dockerd.pid' "$RUN_ROOT" "$1"; }
host_log() { printf '%s/h%s/dockerd.log' "$RUN_ROOT" "$1"; }
host_data_root() { printf '%s/h%s' "$DATA_ROOT" "$1"; }
host_tcp() { printf 'tcp://%s:%s' "$(host_address "$1")" "$TLS_PORT"; }
# The configuration that host K's running dockerd was started with, see daemon_config.
host_config_marker() { printf '%s/h%s/dockerd.config' "$RUN_ROOT" "$1"; }
host_cert() { printf '%s/host%s-cert.pem' "$TLS_DIR" "$1"; }
host_key() { printf '%s/host%s-key.pem' "$TLS_DIR" "$1"; }
readonly CA_CERT="$TLS_DIR/ca.pem"
readonly CA_KEY="$TLS_DIR/ca-key.pem"
readonly CLIENT_CERT="$TLS_DIR/client-cert.pem"
readonly CLIENT_KEY="$TLS_DIR/client-key.pem"
host_datacenter() { if [[ $1 -le 2 ]]; then echo lab-a; else echo lab-b; fi; }

host_docker() {
  local k=$1
  shift
  docker_cli -H "unix://$(host_socket "$k")" "$@"
}

# --- checks -----------------------------------------------------------------

require_root() {
  [[ $(id -u) -eq 0 ]] || die "the lab needs root (network namespaces, dockerd); current uid is $(id -u)"
}

require_tools() {
  local tool
  for tool in dockerd nsenter unshare setsid ip iptables flock findmnt openssl sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found; run scripts/setup.sh"
  done
}

# Serializes up and down across processes, e.g. test files started together.
take_lock() {
  exec 9>"$LOCK_FILE"
  if ! flock -n 9; then
    log "waiting for another lab.sh to finish (lock $LOCK_FILE)"
    flock 9
  fi
}

# Prints the pid of host K's dockerd when it is running. The process must be a
# dockerd whose command line names this host's pid file, so a pid reused by
# another process after a crash does not count.
dockerd_pid() {
  local k=$1 pidfile pid cmdline
  pidfile=$(host_pidfile "$k")
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *dockerd*" --pidfile $pidfile "* ]] || return 1
  printf '%s\n' "$pid"
}

dockerd_responds() {
  host_docker "$1" info --format '{{.ID}}' >/dev/null 2>&1
}

# Succeeds when host K's dockerd responds on its TCP endpoint over mutual TLS.
dockerd_responds_tls() {
  docker_cli --tlsverify --tlscacert "$CA_CERT" --tlscert "$CLIENT_CERT" --tlskey "$CLIENT_KEY" \
    -H "$(host_tcp "$1")" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Prints the numbers of all hosts that have any trace on this machine:
# a namespace, an exec root or a root-side veth.
known_hosts() {
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^graphium-h\([0-9]\+\)$/\1/p'
    # `down` removes each exec root, so a run folder with only a log left does not count.
    find "$RUN_ROOT" -mindepth 2 -maxdepth 2 -path "$RUN_ROOT/h*/exec" -printf '%h\n' 2>/dev/null |
      sed -n 's|^.*/h\([0-9]\+\)$|\1|p'
    ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: graphium-v\([0-9]\+\)[@:].*/\1/p'
  } | sort -nu
}

# Prints the lab size recorded by the last `up`, or 0 when the lab is down.
lab_size() {
  local size=0
  if [[ -f $RUN_ROOT/size ]]; then
    size=$(<"$RUN_ROOT/size")
  fi
  [[ $size =~ ^[0-9]+$ ]] || size=0
  printf '%s\n' "$size"
}

# --- certificates -----------------------------------------------------------

# Writes a new P-256 private key to $1, readable by root only.
new_key() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
}

# Succeeds when certificate $1 and key $2 exist, belong together, and the
# certificate stays valid for CERT_RENEW_DAYS more days.
cert_current() {
  local cert=$1 key=$2 cert_public key_public
  [[ -s $cert && -s $key ]] || return 1
  openssl x509 -in "$cert" -noout -checkend $((CERT_RENEW_DAYS * 86400)) >/dev/null 2>&1 || return 1
  cert_public=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null) || return 1
  key_public=$(openssl pkey -in "$key" -pubout 2>/dev/null) || return 1
  [[ -n $cert_public && $cert_public == "$key_public" ]]
}

# Succeeds when certificate $1 with key $2 is current and the lab CA signed it
# for purpose $3 (sslserver or sslclient, which checks the extended key usage).
leaf_current() {
  cert_current "$1" "$2" &&
    openssl verify -purpose "$3" -CAfile "$CA_CERT" "$1" >/dev/null 2>&1
}

# Succeeds when certificate $1 names every subjectAltName entry given after
# it, each written as openssl prints it, such as "DNS:host1" or "IP Address:10.213.0.11".
cert_names() {
  local cert=$1 names
  shift
  names=$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr ',' '\n' | sed 's/^ *//')
  local name
  for name in "$@"; do
    grep -qxF "$name" <<<"$names" || return 1
  done
}

# Signs a new certificate with the lab CA: subject CN $1, written to $2 with its
# new key in $3, with extended key usage $4 (serverAuth or clientAuth) and the
# subjectAltName $5, if given. Both files are replaced only once both are
# written, so an interrupted run leaves the old pair or a pair that
# cert_current rejects.
issue_cert() {
  local cn=$1 cert=$2 key=$3 usage=$4 names=${5:-}
  local -a extensions=(
    'basicConstraints=critical,CA:FALSE'
    'keyUsage=critical,digitalSignature,keyEncipherment'
    "extendedKeyUsage=$usage"
  )
  if [[ -n $names ]]; then
    extensions+=("subjectAltName=$names")
  fi
  new_key "$key.new"
  openssl req -new -key "$key.new" -subj "/CN=$cn" 2>/dev/null |
    openssl x509 -req -CA "$CA_CERT" -CAkey "$CA_KEY" -set_serial "0x$(openssl rand -hex 16)" \
      -days "$LEAF_DAYS" -sha256 -extfile <(printf '%s\n' "${extensions[@]}") \
      -out "$cert.new" 2>/dev/null ||
    die "openssl could not issue the certificate for $cn in $cert"
  mv -f "$key.new" "$key"
  mv -f "$cert.new" "$cert"
}

# Creates the lab CA, the client certificate and the server certificates of
# hosts $@ in TLS_DIR, keeping every one that is still good. A new CA makes
# every certificate it signed fail leaf_current, so they are issued again.
ensure_certificates() {
  local k address
  mkdir -p "$TLS_DIR"
  chmod 0755 "$TLS_DIR"

  if ! cert_current "$CA_CERT" "$CA_KEY" ||
    ! openssl verify -CAfile "$CA_CERT" "$CA_CERT" >/dev/null 2>&1; then
    log "creating the lab CA in $CA_CERT"
    new_key "$CA_KEY.new"
    openssl req -x509 -new -key "$CA_KEY.new" -sha256 -days "$CA_DAYS" -subj "/CN=Graphium lab CA" \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
      -out "$CA_CERT.new" 2>/dev/null || die "openssl could not create the lab CA in $CA_CERT"
    mv -f "$CA_KEY.new" "$CA_KEY"
    mv -f "$CA_CERT.new" "$CA_CERT"
  fi

  if ! leaf_current "$CLIENT_CERT" "$CLIENT_KEY" sslclient; then
    log "issuing the lab client certificate $CLIENT_CERT"
    issue_cert graphium-lab-client "$CLIENT_CERT" "$CLIENT_KEY" clientAuth
  fi

  for k in "$@"; do
    address=$(host_address "$k")
    if ! leaf_current "$(host_cert "$k")" "$(host_key "$k")" sslserver ||
      ! cert_names "$(host_cert "$k")" "DNS:host$k" "IP Address:$address"; then
      log "host$k: issuing its server certificate $(host_cert "$k")"
      issue_cert "host$k" "$(host_cert "$k")" "$(host_key "$k")" serverAuth "DNS:host$k,IP:$address"
    fi
  done
  chmod 0644 "$CA_CERT" "$CLIENT_CERT"
  chmod 0600 "$CA_KEY" "$CLIENT_KEY"
}

# Prints the configuration host K's dockerd runs with: its TLS endpoint and the
# SHA-256 digests of the certificates it loads. `up` restarts a daemon whose
# marker differs, such as one an older lab.sh started on plain TCP port 2375.
daemon_config() {
  local k=$1 ca_digest cert_digest
  ca_digest=$(sha256sum "$CA_CERT" 2>/dev/null | cut -d' ' -f1) || ca_digest=missing
  cert_digest=$(sha256sum "$(host_cert "$k")" 2>/dev/null | cut -d' ' -f1) || cert_digest=missing
  printf '%s tlsverify ca=%s cert=%s\n' "$(host_tcp "$k")" "$ca_digest" "$cert_digest"
}

# Succeeds when host K's dockerd, process $2, was started by this script with
# the configuration daemon_config prints now. The marker names the pid, so a
# marker left by an earlier daemon does not vouch for a later one.
daemon_config_current() {
  local k=$1 pid=$2 marker
  marker=$(host_config_marker "$k")
  [[ -f $marker && $(<"$marker") == "pid=$pid $(daemon_config "$k")" ]]
}

# --- network ----------------------------------------------------------------

ensure_bridge() {
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($BRIDGE_ADDRESS/24)"
    ip link add "$BRIDGE" type bridge
  fi
  if ! ip -4 addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_ADDRESS/24 "; then
    ip addr add "$BRIDGE_ADDRESS/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up

  # Traffic bridged between two hosts passes the root namespace's FORWARD
  # chain when br_netfilter is loaded. A DROP policy there, which a system
  # dockerd sets, would drop it without this rule. The lab never routes
  # through the root namespace, so ip_forward stays as it is.
  if ! iptables -C "${FORWARD_RULE[@]}" 2>/dev/null; then
    iptables -I "${FORWARD_RULE[@]:0:1}" 1 "${FORWARD_RULE[@]:1}"
  fi
}

# Creates host K's namespace and veth pair, or repairs what a previous run left.
ensure_host_network() {
  local k=$1 ns path veth address
  ns=$(netns_name "$k")
  path=$(netns_path "$k")
  veth=$(veth_name "$k")
  address=$(host_address "$k")

  # A namespace file that can no longer be entered is left over from a crash.
  if [[ -e $path ]] && ! nsenter --net="$path" true 2>/dev/null; then
    log "host$k: removing stale namespace $ns"
    ip netns delete "$ns" 2>/dev/null || rm -f "$path"
  fi
  if [[ ! -e $path ]]; then
    ip netns add "$ns"
  fi
  ip -n "$ns" link set lo up

  if ! ip -n "$ns" link show dev eth0 >/dev/null 2>&1; then
    ip link delete "$veth" 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE" up
  if ! ip -n "$ns" -4 addr show dev eth0 | grep -q "inet $address/24 "; then
    ip -n "$ns" addr add "$address/24" dev eth0
  fi
  ip -n "$ns" link set eth0 up
}

# --- dockerd ----------------------------------------------------------------

# Prints the storage driver for host K: the one its data root already uses,
# otherwise overlay2.
storage_driver() {
  local data_root
  data_root=$(host_data_root "$1")
  if [[ -d $data_root/vfs && ! -d $data_root/overlay2 ]]; then
    echo vfs
  else
    echo overlay2
  fi
}

# Starts host K's dockerd in the background with storage driver $2.
#
# nsenter enters only the network namespace: `ip netns exec` also remounts
# /sys, and dockerd then fails with "Devices cgroup isn't mounted". unshare
# gives the daemon its own UTS namespace so `docker info` reports hostK as its
# name. setsid detaches the daemon from this script's session, so it outlives
# the shell or test runner that started the lab.
start_dockerd() {
  local k=$1 driver=$2 dir data_root
  dir=$(host_dir "$k")
  data_root=$(host_data_root "$k")
  mkdir -p "$dir/exec" "$data_root"
  # A config file of our own keeps a system /etc/docker/daemon.json from mixing
  # in. It also gives each daemon its own key file: with the default
  # /etc/docker/key.json every lab daemon would report the same engine ID in
  # `docker info`. dockerd 20.10 has no command-line flag for this setting.
  printf '{"deprecated-key-path": "%s/key.json"}\n' "$data_root" >"$dir/daemon.json"
  rm -f "$(host_pidfile "$k")"
  printf '\n--- %s: starting dockerd (storage driver %s)\n' "$(date -Is)" "$driver" >>"$(host_log "$k")"

  local -a args=(
    --config-file "$dir/daemon.json"
    --data-root "$data_root"
    --exec-root "$dir/exec"
    --pidfile "$(host_pidfile "$k")"
    # Each daemon starts its own containerd unless /run/containerd/containerd.sock
    # exists. Distinct containerd namespaces keep the daemons apart in that case too.
    --containerd-namespace "graphium-h$k"
    --containerd-plugins-namespace "graphium-h$k-plugins"
    --host "unix://$(host_socket "$k")"
    --group root
    --host "$(host_tcp "$k")"
    --tlsverify
    --tlscacert "$CA_CERT"
    --tlscert "$(host_cert "$k")"
    --tlskey "$(host_key "$k")"
    --bip "10.214.$k.1/24"
    --default-address-pool "base=10.$((220 + k)).0.0/16,size=24"
    --cgroup-parent "graphium-h$k"
    --iptables=true
    --storage-driver "$driver"
    --label lab=true
    --label "datacenter=$(host_datacenter "$k")"
    --log-level warn
  )

  # env -i keeps the caller's environment (proxies, test runner variables) out.
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE makes swarm services use local images
  # without asking a registry first. A background job of a script stays in the
  # script's process group, so setsid does not fork: every command in the chain
  # execs the next and $! ends up as dockerd's pid. Closing fd 9 keeps the lab
  # lock from being inherited by the daemon.
  # The inner shell expands $0 and $@, not this one.
  # shellcheck disable=SC2016
  setsid nsenter --net="$(netns_path "$k")" \
    unshare --uts \
    /bin/sh -c 'hostname "$0" && exec "$@"' "host$k" \
    env -i PATH="$CLEAN_PATH" DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 \
    dockerd "${args[@]}" \
    </dev/null >>"$(host_log "$k")" 2>&1 9>&- &
  STARTED_PID=$!
  printf 'pid=%s %s' "$STARTED_PID" "$(daemon_config "$k")" >"$(host_config_marker "$k")"
}

# Succeeds while process $1 exists and is not a zombie.
process_alive() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# Waits until host K's dockerd, process $2, responds on its socket. Returns 1
# when the process exits first, 2 on timeout.
wait_for_dockerd() {
  local k=$1 pid=$2 deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if dockerd_responds "$k"; then
      return 0
    fi
    process_alive "$pid" || return 1
    sleep 0.2
  done
  return 2
}

# Prints the last 15 lines that host K's dockerd logged since its latest start.
show_log_tail() {
  log "last lines of $(host_log "$1"):"
  awk '
    /^--- .*: starting dockerd/ { count = 0; next }
    { lines[count++] = $0 }
    END { for (i = (count > 15 ? count - 15 : 0); i < count; i++) print "    " lines[i] }
  ' "$(host_log "$1")" >&2
}

# Prepares host K's network and starts its dockerd unless one is running.
# Prints the daemon's pid, followed by " new" when this call started it.
launch_host() {
  local k=$1 pid driver
  ensure_host_network "$k"
  if pid=$(dockerd_pid "$k"); then
    printf '%s\n' "$pid"
    return
  fi
  # Containers of a dockerd that died would only be stopped by the new daemon,
  # which waits out each one's stop timeout first.
  kill_leftovers "$k"
  driver=$(storage_driver "$k")
  log "host$k: starting dockerd at $(host_address "$k") (storage driver $driver)"
  start_dockerd "$k" "$driver"
  printf '%s new\n' "$STARTED_PID"
}

# Waits for host K's dockerd (pid $3) to respond and reports the time since
# $2 (in SECONDS). A daemon that this run started ($4 = new) and that fails
# with overlay2 is restarted once with vfs.
await_host() {
  local k=$1 start=$2 pid=$3 origin=${4:-} status=0
  wait_for_dockerd "$k" "$pid" || status=$?

  if [[ $origin != new ]]; then
    if [[ $status -ne 0 ]]; then
      show_log_tail "$k"
      die "host$k: dockerd (pid $pid, started by an earlier run) does not respond on $(host_socket "$k"); stop the lab with scripts/lab.sh down"
    fi
    return 0
  fi

  if [[ $status -eq 1 && $(storage_driver "$k") == overlay2 ]] &&
    grep -qi 'overlay' <(tail -n 5 "$(host_log "$k")"); then
    show_log_tail "$k"
    log "host$k: WARNING: overlay2 failed on $(host_data_root "$k"); falling back to the vfs storage driver, which copies every layer"
    status=0
    start_dockerd "$k" vfs
    wait_for_dockerd "$k" "$STARTED_PID" || status=$?
  fi

  if [[ $status -eq 0 ]] && ! dockerd_responds_tls "$k"; then
    show_log_tail "$k"
    die "host$k: dockerd responds on its socket but not on $(host_tcp "$k") to the lab client certificate; see $(host_log "$k")"
  fi
  case $status in
    0) log "host$k: dockerd ready in $((SECONDS - start)) s" ;;
    1)
      show_log_tail "$k"
      die "host$k: dockerd exited during startup; see $(host_log "$k")"
      ;;
    *)
      show_log_tail "$k"
      die "host$k: dockerd timed out: no response on $(host_socket "$k") within $START_TIMEOUT s; see $(host_log "$k")"
      ;;
  esac
}

# Stops the running daemons of hosts $@ whose configuration marker differs from
# what they would be started with now, all at once, so `up` starts them again.
# This catches a lab started by an older lab.sh (plain TCP on port 2375) and
# a daemon whose certificates were renewed.
stop_outdated_daemons() {
  local k pid entry
  local -a stopping=()
  for k in "$@"; do
    if pid=$(dockerd_pid "$k") && ! daemon_config_current "$k" "$pid"; then
      log "host$k: restarting dockerd (pid $pid) to serve $(host_tcp "$k") with the current lab certificates"
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$k:$pid")
    fi
  done
  for entry in "${stopping[@]}"; do
    wait_for_exit "${entry%%:*}" "${entry#*:}"
  done
}

# Sends SIGTERM to host K's dockerd and prints its pid, if it runs.
signal_dockerd() {
  local pid
  if pid=$(dockerd_pid "$1"); then
    kill -TERM "$pid" 2>/dev/null || true
    printf '%s\n' "$pid"
  fi
}

# Waits for pid $2 of host K's dockerd to exit, then kills it after STOP_TIMEOUT.
wait_for_exit() {
  local k=$1 pid=$2 deadline=$((SECONDS + STOP_TIMEOUT))
  while [[ -d /proc/$pid ]] && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if [[ -d /proc/$pid ]]; then
    log "host$k: dockerd (pid $pid) still running after $STOP_TIMEOUT s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while [[ -d /proc/$pid ]]; do
      sleep 0.2
    done
  fi
}

# Kills processes that a killed dockerd can leave behind for host K:
# containerd and its shims (in the host's namespace) and container processes
# (in the host's cgroup parent). Nothing else lives in either place.
kill_leftovers() {
  local k=$1 ns pids
  ns=$(netns_name "$k")
  pids=$(
    {
      ip netns pids "$ns" 2>/dev/null || true
      find /sys/fs/cgroup -path "*/graphium-h$k/*" -name cgroup.procs -exec cat {} + 2>/dev/null || true
    } | sort -nu
  )
  if [[ -n $pids ]]; then
    log "host$k: killing leftover processes: $(echo "$pids" | tr '\n' ' ')"
    # Word splitting is wanted: one pid per word.
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.5
  fi
  # Removes empty cgroups deepest first, and busy ones stay.
  find /sys/fs/cgroup -depth -type d -path "*/graphium-h$k*" -name "*" -exec rmdir {} + 2>/dev/null || true
}

# Unmounts everything below folder $1 (overlay layers, namespace bind mounts).
unmount_below() {
  local dir=$1 mount_point
  findmnt -rn -o TARGET | { grep -F "$dir/" || true; } | sort -r | while read -r mount_point; do
    umount -l "$mount_point" 2>/dev/null || true
  done
}

remove_host_network() {
  local k=$1 ns
  ns=$(netns_name "$k")
  if [[ -e $(netns_path "$k") ]]; then
    ip netns delete "$ns" 2>/dev/null || rm -f "$(netns_path "$k")"
  fi
  # Deleting the namespace deletes both ends of the veth pair. This line
  # removes a root end whose peer was lost some other way.
  ip link delete "$(veth_name "$k")" 2>/dev/null || true
}

remove_bridge() {
  while iptables -C "${FORWARD_RULE[@]}" 2>/dev/null; do
    iptables -D "${FORWARD_RULE[@]}"
  done
  if ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip link delete "$BRIDGE"
  fi
}

# --- commands ---------------------------------------------------------------

cmd_up() {
  local count=${1:-$DEFAULT_HOSTS}
  if ! [[ $count =~ ^[0-9]+$ ]] || ((count < 1 || count > MAX_HOSTS)); then
    die "invalid host count '$count'; expected a number from 1 to $MAX_HOSTS"
  fi
  if ! [[ $START_TIMEOUT =~ ^[0-9]+$ ]]; then
    die "invalid GRAPHIUM_LAB_START_TIMEOUT '$START_TIMEOUT'; expected a number of seconds"
  fi
  require_root
  require_tools
  take_lock
  local start=$SECONDS k
  mkdir -p "$RUN_ROOT" "$DATA_ROOT"
  ensure_bridge

  # Hosts above `count` that still run (from an earlier, larger `up`) stay in
  # the lab, so they get the same certificate and configuration checks.
  local -a targets=()
  for ((k = 1; k <= count; k++)); do
    targets+=("$k")
  done
  for k in $(known_hosts); do
    if ((k > count)) && dockerd_pid "$k" >/dev/null; then
      targets+=("$k")
    fi
  done
  ensure_certificates "${targets[@]}"
  stop_outdated_daemons "${targets[@]}"

  # Start every missing daemon first and then wait, so their startups overlap.
  local -a launched=()
  for k in "${targets[@]}"; do
    launched[k]=$(launch_host "$k")
  done
  for k in "${targets[@]}"; do
    # Word splitting is wanted: "PID" or "PID new".
    # shellcheck disable=SC2086
    await_host "$k" "$start" ${launched[k]}
  done

  local size=${targets[-1]}
  echo "$size" >"$RUN_ROOT/size"

  local -a sockets=()
  for ((k = 1; k <= size; k++)); do
    sockets+=("$(host_socket "$k")")
  done
  bash "$SCRIPT_DIR/lab-images.sh" load "${sockets[@]}"

  log "lab up: $size hosts in $((SECONDS - start)) s ($NET_PREFIX.11-$NET_PREFIX.$((10 + size)))"
}

cmd_down() {
  local purge=0
  case ${1:-} in
    "") ;;
    --purge) purge=1 ;;
    *) die "unknown option '$1' for down; expected --purge or nothing" ;;
  esac
  require_root
  take_lock
  local start=$SECONDS k pid
  local -a hosts pids=()
  mapfile -t hosts < <(known_hosts)

  # Signal every daemon first and then wait, so their shutdowns overlap.
  for k in "${hosts[@]}"; do
    if pid=$(signal_dockerd "$k") && [[ -n $pid ]]; then
      log "host$k: stopping dockerd (pid $pid)"
      pids+=("$k:$pid")
    fi
  done
  local entry
  for entry in "${pids[@]}"; do
    wait_for_exit "${entry%%:*}" "${entry#*:}"
  done

  for k in "${hosts[@]}"; do
    kill_leftovers "$k"
    unmount_below "$(host_dir "$k")"
    unmount_below "$(host_data_root "$k")"
    remove_host_network "$k"
    rm -rf --one-file-system "$(host_dir "$k")/exec"
    rm -f "$(host_pidfile "$k")" "$(host_socket "$k")" "$(host_config_marker "$k")"
  done
  remove_bridge
  rm -f "$RUN_ROOT/size"

  if ((purge)); then
    log "deleting data roots and certificates in $DATA_ROOT and logs in $RUN_ROOT"
    unmount_below "$DATA_ROOT"
    rm -rf --one-file-system "$DATA_ROOT" "$RUN_ROOT"
  fi
  log "lab down in $((SECONDS - start)) s${hosts[*]:+ (hosts ${hosts[*]})}"
}

cmd_status() {
  local size k pid all_up=0 info note
  size=$(lab_size)
  if ((size == 0)); then
    echo "lab is down (no hosts; start it with scripts/lab.sh up)"
    return 1
  fi
  for ((k = 1; k <= size; k++)); do
    if pid=$(dockerd_pid "$k") &&
      info=$(host_docker "$k" info --format \
        '{{.Driver}} containers={{.Containers}} running={{.ContainersRunning}} images={{.Images}}' 2>/dev/null); then
      note=""
      if ! daemon_config_current "$k" "$pid"; then
        note="  (started with another configuration; scripts/lab.sh up restarts it)"
      fi
      printf 'host%s up   %s  %s  pid=%s  %s  %s  %s%s\n' "$k" "$(host_address "$k")" \
        "$(host_datacenter "$k")" "$pid" "$info" "$(host_tcp "$k")" "$(host_socket "$k")" "$note"
    elif [[ -n ${pid:-} ]]; then
      printf 'host%s not responding  %s  pid=%s  log %s\n' "$k" "$(host_address "$k")" "$pid" "$(host_log "$k")"
      all_up=1
    else
      printf 'host%s down %s  log %s\n' "$k" "$(host_address "$k")" "$(host_log "$k")"
      all_up=1
    fi
    pid=
  done
  return "$all_up"
}

cmd_hosts() {
  local size k separator=""
  size=$(lab_size)
  if ((size == 0)); then
    log "lab is down; start it with scripts/lab.sh up"
  fi
  printf '['
  for ((k = 1; k <= size; k++)); do
    printf '%s\n  {"name": "host%s", "socket": "%s", "tcp": "%s", "tls": {"ca": "%s", "cert": "%s", "key": "%s"}, "address": "%s", "datacenter": "%s", "labels": {"lab": "true"}}' \
      "$separator" "$k" "$(host_socket "$k")" "$(host_tcp "$k")" "$CA_CERT" "$CLIENT_CERT" "$CLIENT_KEY" \
      "$(host_address "$k")" "$(host_datacenter "$k")"
    separator=","
  done
  if ((size > 0)); then
    printf '\n'
  fi
  printf ']\n'
}

main() {
  local command=${1:-}
  shift || true
  DOCKER_CLI=$(resolve_docker_cli)
  readonly DOCKER_CLI
  case $command in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    hosts) cmd_hosts ;;
    check) GRAPHIUM_DOCKER_CLI=$DOCKER_CLI bash "$SCRIPT_DIR/lab-check.sh" "$@" ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
    *)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
      die "unknown command '$command'; expected up, down, status, hosts or check"
      ;;
  esac
}

main "$@"
