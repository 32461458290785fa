#!/usr/bin/env bash
# Builds the lab's container images without a registry and imports them into
# lab Docker hosts. scripts/lab.sh calls `load` on every `up`.
#
#   graphium/busybox:lab   busybox-static with its applet symlinks, /tmp and
#                          /etc/passwd (root, nobody); CMD ["sh"]
#   graphium/services:lab  Debian bookworm (debootstrap minbase) with PostgreSQL 15,
#                          Redis and their clients, plus /usr/local/bin/start-postgres
#                          and /usr/local/bin/start-redis
#
# Usage:
#   lab-images.sh build              build missing rootfs tarballs, print their paths
#   lab-images.sh load SOCKET...     import each image into each Docker daemon socket
#                                    unless it already has this build
#
# Rootfs tarballs are cached in $GRAPHIUM_CACHE/images (default
# /var/cache/graphium/images). Their names contain a hash of this file, so
# editing this file rebuilds them and an unchanged file reuses them.
#
# Environment:
#   GRAPHIUM_CACHE          cache folder (default /var/cache/graphium)
#   GRAPHIUM_DEBIAN_MIRROR  Debian mirror for debootstrap (default: the first
#                           bookworm mirror in the machine's apt sources)
#   GRAPHIUM_DOCKER_CLI     docker client to use (default /usr/bin/docker, from docker.io)
set -euo pipefail

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
readonly SCRIPT_PATH
readonly CACHE_DIR="${GRAPHIUM_CACHE:-/var/cache/graphium}"
readonly IMAGE_CACHE="$CACHE_DIR/images"
readonly DEBIAN_SUITE="bookworm"
readonly SERVICES_PACKAGES="postgresql,redis-server,redis-tools,postgresql-client,ca-certificates,procps,netcat-openbsd"
# Label that records which cached tarball an imported image came from.
readonly BUILD_LABEL="org.graphium.lab.build"
readonly DEFAULT_PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

log() {
  printf 'lab-images: %s\n' "$*" >&2
}

die() {
  printf 'lab-images: error: %s\n' "$*" >&2
  exit 1
}

docker_cli() {
  local cli="${GRAPHIUM_DOCKER_CLI:-}"
  if [[ -z $cli ]]; then
    # docker.io's client matches the lab's dockerd 20.10; a newer client found
    # first on PATH also works but negotiates an older API version.
    if [[ -x /usr/bin/docker ]]; then
      cli=/usr/bin/docker
    else
      cli=$(command -v docker) || die "docker client not found; run scripts/setup.sh"
    fi
  fi
  "$cli" "$@"
}

# Prints a short hash of this file's content, part of every tarball name.
script_hash() {
  sha256sum "$SCRIPT_PATH" | cut -c1-12
}

busybox_tarball() {
  local busybox_version
  busybox_version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) ||
    die "busybox-static is not installed; run scripts/setup.sh"
  # The Debian version goes into the name too, so a busybox upgrade rebuilds.
  printf '%s/busybox-%s-%s.tar\n' "$IMAGE_CACHE" "$(script_hash)" "${busybox_version//[^A-Za-z0-9.+-]/_}"
}

services_tarball() {
  printf '%s/services-%s.tar\n' "$IMAGE_CACHE" "$(script_hash)"
}

# Prints the first Debian mirror URI that the machine's apt sources list for
# the bookworm suite, from deb822 .sources files or one-line .list files.
apt_mirror() {
  if [[ -n ${GRAPHIUM_DEBIAN_MIRROR:-} ]]; then
    printf '%s\n' "$GRAPHIUM_DEBIAN_MIRROR"
    return
  fi

  local file uri
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    uri=$(awk -v suite="$DEBIAN_SUITE" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "" && enabled != "no") {
          split(uris, parts, " ")
          print parts[1]
          found = 1
          exit
        }
        types = suites = uris = enabled = ""
      }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      {
        key = tolower($1)
        $1 = ""
        sub(/^ +/, "")
        if (key == "types:") types = $0
        else if (key == "suites:") suites = $0
        else if (key == "uris:") uris = $0
        else if (key == "enabled:") enabled = tolower($0)
      }
      END { if (!found) flush() }
    ' "$file")
    if [[ -n $uri ]]; then
      printf '%s\n' "$uri"
      return
    fi
  done

  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $file ]] || continue
    uri=$(awk -v suite="$DEBIAN_SUITE" '
      $1 == "deb" {
        field = 2
        if ($field ~ /^\[/) { while (field <= NF && $field !~ /\]$/) field++; field++ }
        if ($(field + 1) == suite) { print $field; exit }
      }
    ' "$file")
    if [[ -n $uri ]]; then
      printf '%s\n' "$uri"
      return
    fi
  done

  die "no Debian $DEBIAN_SUITE mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d; set GRAPHIUM_DEBIAN_MIRROR"
}

# Unmounts everything mounted below a build folder and removes it. debootstrap
# mounts /proc and /sys inside its target and can leave them behind when it fails.
remove_build_dir() {
  local dir=$1 mount_point
  [[ -d $dir ]] || return 0
  findmnt -rn -o TARGET | { grep -F "$dir/" || true; } | sort -r | while read -r mount_point; do
    umount -l "$mount_point" || true
  done
  rm -rf --one-file-system "$dir"
}

# Writes the tiny busybox rootfs into $1.
populate_busybox_rootfs() {
  local rootfs=$1
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev}
  install -m 0755 /bin/busybox "$rootfs/bin/busybox"
  # busybox-static needs no libraries, so it can run inside the bare rootfs.
  chroot "$rootfs" /bin/busybox --install -s
  chmod 1777 "$rootfs/tmp"
  cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
}

# Writes /usr/local/bin/start-postgres into the rootfs at $1.
write_start_postgres() {
  cat >"$1/usr/local/bin/start-postgres" <<'EOF'
#!/bin/bash
# Runs PostgreSQL 15 in the foreground as the postgres user. On the first start
# (no PG_VERSION in $PGDATA) it runs initdb with these variables:
#   PGDATA             data folder (default /var/lib/postgresql/data)
#   POSTGRES_USER      superuser name (default postgres)
#   POSTGRES_PASSWORD  superuser password. When set, remote clients authenticate
#                      with md5. Without it, remote clients are trusted.
#   POSTGRES_DB        database created after initdb, when set
# Arguments are passed to postgres, e.g. -c max_connections=50.
set -euo pipefail

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
PG_BIN=/usr/lib/postgresql/15/bin

if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  chmod 0700 "$PGDATA"
  # setpriv execs without forking, so postgres stays PID 1 and gets docker's signals.
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  echo "start-postgres: initializing $PGDATA for user $POSTGRES_USER" >&2
  if [[ -n ${POSTGRES_PASSWORD:-} ]]; then
    "$PG_BIN/initdb" --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=md5 --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") >/dev/null
    remote_method=md5
  else
    "$PG_BIN/initdb" --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 \
      --auth=trust >/dev/null
    remote_method=trust
  fi
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all $remote_method" >>"$PGDATA/pg_hba.conf"

  if [[ -n ${POSTGRES_DB:-} && $POSTGRES_DB != postgres ]]; then
    # Single-user mode needs no socket or port. Double quotes in the name are doubled.
    echo "CREATE DATABASE \"${POSTGRES_DB//\"/\"\"}\"" |
      "$PG_BIN/postgres" --single -D "$PGDATA" -j postgres >/dev/null
    echo "start-postgres: created database $POSTGRES_DB" >&2
  fi
fi

exec "$PG_BIN/postgres" -D "$PGDATA" "$@"
EOF
  chmod 0755 "$1/usr/local/bin/start-postgres"
}

# Writes /usr/local/bin/start-redis into the rootfs at $1.
write_start_redis() {
  cat >"$1/usr/local/bin/start-redis" <<'EOF'
#!/bin/sh
# Runs redis-server in the foreground, reachable from other hosts. Arguments
# are passed to redis-server, e.g. --requirepass SECRET or --port 6380.
exec redis-server --bind 0.0.0.0 --protected-mode no "$@"
EOF
  chmod 0755 "$1/usr/local/bin/start-redis"
}

# Runs debootstrap into $1 and prints its stage lines (not one per package).
run_debootstrap() {
  local rootfs=$1 mirror=$2 log_file=$3
  log "debootstrap $DEBIAN_SUITE from $mirror (full log: $log_file)"
  local start=$SECONDS status=0
  # --cache-dir keeps the downloaded packages, so a rebuild after an edit of
  # this file downloads only what changed on the mirror.
  mkdir -p "$IMAGE_CACHE/debs"
  debootstrap --variant=minbase --include="$SERVICES_PACKAGES" --cache-dir="$IMAGE_CACHE/debs" \
    "$DEBIAN_SUITE" "$rootfs" "$mirror" 2>&1 |
    tee "$log_file" |
    awk '
      # One line per package: print a running count every 40 packages instead.
      /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) [a-z0-9]/ {
        count[$2]++
        if (count[$2] % 40 == 0) {
          printf "lab-images:   %s: %d packages so far\n", $2, count[$2] > "/dev/stderr"
          fflush("/dev/stderr")
        }
        next
      }
      /^[IWE]: / {
        printf "lab-images:   %s\n", $0 > "/dev/stderr"
        fflush("/dev/stderr")
      }' || status=$?
  if [[ $status -ne 0 ]]; then
    tail -n 20 "$log_file" >&2
    die "debootstrap failed (exit $status); full log in $log_file"
  fi
  log "debootstrap finished in $((SECONDS - start)) s"
}

# Adds the start scripts to a debootstrapped rootfs and removes what a
# container does not need: downloaded .deb files, apt lists and the cluster
# that the postgresql package created (start-postgres makes its own).
finish_services_rootfs() {
  local rootfs=$1
  write_start_postgres "$rootfs"
  write_start_redis "$rootfs"
  chroot "$rootfs" setpriv --version >/dev/null ||
    die "setpriv is missing from the services rootfs; start-postgres needs it"
  rm -rf "$rootfs/etc/postgresql/15/main" "$rootfs/var/lib/postgresql/15"
  mkdir -p "$rootfs/run/postgresql"
  chroot "$rootfs" chown postgres:postgres /run/postgresql /var/lib/postgresql
  rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin
  rm -rf "$rootfs"/var/lib/apt/lists/*
  # Docker bind-mounts its own resolv.conf and hostname over these files.
  : >"$rootfs/etc/resolv.conf"
  echo localhost >"$rootfs/etc/hostname"
}

# Packs a rootfs folder into a tarball, leaving out device nodes and the
# contents of /proc and /sys (Docker mounts its own).
pack_rootfs() {
  local rootfs=$1 tarball=$2
  tar --numeric-owner -C "$rootfs" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
}

# Removes cached tarballs of the same image other than $2.
remove_stale_tarballs() {
  local prefix=$1 keep=$2 file
  for file in "$IMAGE_CACHE/$prefix"-*.tar; do
    if [[ -f $file && $file != "$keep" ]]; then
      log "removing stale cached image $file"
      rm -f "$file"
    fi
  done
}

build_busybox() {
  local tarball
  tarball=$(busybox_tarball)
  [[ -f $tarball ]] && return 0
  log "building graphium/busybox:lab rootfs"
  local build
  build=$(mktemp -d "$IMAGE_CACHE/build-busybox.XXXXXX")
  populate_busybox_rootfs "$build/rootfs"
  pack_rootfs "$build/rootfs" "$tarball"
  remove_build_dir "$build"
  remove_stale_tarballs busybox "$tarball"
  log "built $tarball ($(du -h "$tarball" | cut -f1))"
}

build_services() {
  local tarball
  tarball=$(services_tarball)
  [[ -f $tarball ]] && return 0
  command -v debootstrap >/dev/null || die "debootstrap not found; run scripts/setup.sh"
  local mirror start=$SECONDS build
  mirror=$(apt_mirror)
  log "building graphium/services:lab rootfs (about a minute; cached afterwards in $IMAGE_CACHE)"
  build=$(mktemp -d "$IMAGE_CACHE/build-services.XXXXXX")
  # Expands now, so the trap still names this folder after the function returns.
  # shellcheck disable=SC2064
  trap "remove_build_dir '$build'" EXIT
  run_debootstrap "$build/rootfs" "$mirror" "$IMAGE_CACHE/debootstrap.log"
  finish_services_rootfs "$build/rootfs"
  log "packing rootfs into $tarball"
  pack_rootfs "$build/rootfs" "$tarball"
  remove_build_dir "$build"
  trap - EXIT
  remove_stale_tarballs services "$tarball"
  log "built $tarball ($(du -h "$tarball" | cut -f1)) in $((SECONDS - start)) s"
}

# Builds missing tarballs under a lock, so concurrent runs build each image once.
build_all() {
  [[ $(id -u) -eq 0 ]] || die "building images needs root (chroot, debootstrap)"
  mkdir -p "$IMAGE_CACHE"
  exec 8>"$IMAGE_CACHE/.build.lock"
  flock 8
  build_busybox
  build_services
  flock -u 8
}

# Imports tarball $3 as image $2 into the daemon at socket $1 unless the image
# there already carries this tarball's build label. Further arguments go to
# `docker import`.
load_image() {
  local socket=$1 image=$2 tarball=$3
  shift 3
  local build current old_id=""
  build=$(basename "$tarball" .tar)
  current=$(docker_cli -H "unix://$socket" image inspect \
    --format "{{ .Id }} {{ index .Config.Labels \"$BUILD_LABEL\" }}" "$image" 2>/dev/null || true)
  if [[ -n $current ]]; then
    old_id=${current%% *}
    if [[ ${current#* } == "$build" ]]; then
      return 0
    fi
  fi
  local start=$SECONDS
  log "importing $image into $socket"
  docker_cli -H "unix://$socket" import \
    --change "LABEL $BUILD_LABEL=$build" \
    --change "ENV PATH=$DEFAULT_PATH" \
    "$@" "$tarball" "$image" >/dev/null ||
    die "docker import of $tarball into $socket failed"
  log "imported $image into $socket in $((SECONDS - start)) s"

  # Importing under the same tag leaves the previous build untagged. Removing
  # it frees its space unless a container still uses it, and then it stays.
  if [[ -n $old_id ]]; then
    docker_cli -H "unix://$socket" image rm "$old_id" >/dev/null 2>&1 || true
  fi
}

# Imports both images into every daemon socket given, all sockets at once.
load_all() {
  [[ $# -gt 0 ]] || die "load needs at least one Docker socket path"
  local busybox services socket pid failed=0
  for socket in "$@"; do
    [[ -S $socket ]] || die "Docker socket $socket not found; is the lab host up?"
  done
  build_all
  busybox=$(busybox_tarball)
  services=$(services_tarball)

  local -a pids=()
  for socket in "$@"; do
    (
      load_image "$socket" graphium/busybox:lab "$busybox" --change 'CMD ["sh"]'
      load_image "$socket" graphium/services:lab "$services" --change 'CMD ["bash"]'
    ) &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
  done
  ((failed == 0)) || die "loading the lab images failed on at least one host; see the errors above"
}

usage() {
  sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d' | sed 's/^# \{0,1\}//'
}

main() {
  local command=${1:-}
  shift || true
  case $command in
    build)
      build_all
      busybox_tarball
      services_tarball
      ;;
    load) load_all "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      die "unknown command '${command}'; expected build or load"
      ;;
  esac
}

main "$@"
