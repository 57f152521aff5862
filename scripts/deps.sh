#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/debian-packages.txt that are not installed yet.
# Idempotent: when every package is present it only says so and calls no apt command.
# Runs apt-get through sudo unless it already runs as root.
#
# Usage: scripts/deps.sh [--check]
#   --check   list the missing packages and exit 1 if there are any; install nothing
#
# Environment:
#   SOVEREIGN_DEBIAN_PACKAGES   the package list (default: debian-packages.txt beside this script)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="${SOVEREIGN_DEBIAN_PACKAGES:-${here}/debian-packages.txt}"

die() {
  echo "deps: error: $*" >&2
  exit 1
}

[[ -r "${list}" ]] || die "cannot read ${list}"
command -v dpkg-query >/dev/null || die "dpkg-query not found: this script installs Debian packages (Debian 12)"

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  *) die "unknown argument \"$1\" (usage: scripts/deps.sh [--check])" ;;
esac

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "${list}")

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)"
  if [[ "${status}" != "install ok installed" ]]; then
    missing+=("${pkg}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#packages[@]} Debian packages are installed"
  exit 0
fi
echo "deps: missing ${#missing[@]} of ${#packages[@]} packages: ${missing[*]}"
if [[ ${check_only} -eq 1 ]]; then
  exit 1
fi

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null || die "not root and sudo is not installed: install as root: apt-get install ${missing[*]}"
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
echo "deps: installed ${missing[*]}"
