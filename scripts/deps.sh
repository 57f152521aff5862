#!/usr/bin/env bash
# Installs the Debian packages in scripts/debian-packages.txt that are missing. Idempotent: when
# everything is present it runs no apt command at all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
missing=()
while read -r pkg; do
  [[ -z "${pkg}" || "${pkg}" == \#* ]] && continue
  if [[ "$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("${pkg}")
  fi
done <"${here}/debian-packages.txt"
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
