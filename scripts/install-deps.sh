#!/usr/bin/env bash
# install-deps.sh: installs every Debian 12 package hearth needs to build, test and run.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
set -euo pipefail

packages=(
    # toolchain and checks
    build-essential pkg-config clang libclang-rt-14-dev
    # llvm-symbolizer: readable stack traces in the fuzzers' sanitizer reports
    llvm
    # VMM and disk tools
    qemu-system-x86 qemu-utils e2fsprogs
    # guest kernel build
    linux-source-6.1 bc bison flex libelf-dev libssl-dev xz-utils cpio kmod
    # root filesystems
    debootstrap busybox-static
    # libraries hearthd, the CLI and the tests link
    libjansson-dev libsqlite3-dev sqlite3 libevent-dev
    # the PostgreSQL store backend (libpq) and the server its tests start (docs/store.md)
    libpq-dev postgresql libcurl4-openssl-dev libhttp-parser-dev
    # WebSocket framing of the browser shell (docs/api.md §3.12.3)
    libwslay-dev
    # the SSH gateway's server side (docs/ingress-ssh.md)
    libssh-dev
    # test helpers
    curl jq python3 iproute2 nftables dnsmasq-base
    # networking: nftables and rtnetlink from hearthd, DNS packets
    libnftables-dev libmnl-dev libldns-dev
    # operations: sd_notify for the systemd unit (Type=notify), rendering the man pages
    libsystemd-dev man-db groff-base
    # QEMU confinement: capabilities dropped before exec (docs/security.md)
    libcap-dev
    # the RAM file checksum of snapshots (XXH3)
    libxxhash-dev
    # snapshots on S3: chunks compressed with zstd (docs/snapshots.md "Snapshots on S3")
    libzstd-dev
    # templates: OCI images as bases (pulled with skopeo, unpacked with umoci) and the
    # registry the tests start on loopback (docs/templates.md)
    skopeo umoci docker-registry
    # the web console's browser tests drive Debian's chromium headless (tests/console/run.sh)
    chromium
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
        exit 1
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js >= 20 and npm run the SDK compatibility suite (tests/compat/run.sh). The machine image
# ships Node 20; only when `node` is missing or older do we install Debian's nodejs and npm.
node_ok() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
    local major
    major=$(node --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p')
    [ -n "$major" ] && [ "$major" -ge 20 ]
}
if ! node_ok; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: Node.js >= 20 and npm are needed (have: $(node --version 2>/dev/null || echo none)); run as root" >&2
        exit 1
    fi
    echo "install-deps: installing nodejs and npm" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    if ! node_ok; then
        echo "install-deps: Debian's nodejs is $(node --version 2>/dev/null || echo missing); tests/compat needs >= 20" >&2
        exit 1
    fi
fi
