#!/usr/bin/env bash
# deploy/local/install-deps.sh: install the Debian packages needed to
# build revisit, run its tests and run the local stack. Idempotent: it
# runs apt only when something is missing, and then installs exactly the
# missing packages. Uses sudo when not root.
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(
    build-essential cmake pkg-config
    librdkafka-dev libhiredis-dev libprotobuf-c-dev protobuf-c-compiler
    libpq-dev libcmocka-dev libcyaml-dev libyaml-dev libcsv-dev libssl-dev
    libunistring-dev libjansson-dev libmicrohttpd-dev
    libopencc-dev libopencc-data
    redis-server postgresql postgresql-client kcat
    tzdata ca-certificates npm clang-format
)

# Some tools may come from elsewhere: Node.js from NodeSource bundles its
# own npm and conflicts with Debian's, so a working command counts.
is_present() {
    case "$1" in
    npm) command -v npm >/dev/null 2>&1 && return 0 ;;
    esac
    is_installed "$1"
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
        grep -q 'install ok installed'
}

command -v dpkg-query >/dev/null 2>&1 ||
    rv_die "this script needs a Debian-based system (dpkg, apt-get)"

missing=()
for p in "${packages[@]}"; do
    is_present "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

rv_info "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
rv_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
rv_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
for p in "${missing[@]}"; do
    is_present "$p" || rv_die "package $p did not install"
done
rv_info "installed ${#missing[@]} package(s)"
