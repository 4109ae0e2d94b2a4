#!/usr/bin/env bash
# demo.sh: the end of `make run`. Boots a microVM from the freshly built images, runs a command
# in it through the agent, and prints what to try next.
set -euo pipefail
cd "$(dirname "$0")/.."
export HEARTH_IMAGES=${HEARTH_IMAGES:-$PWD/build/images}
echo "hearth: booting a 'minimal' microVM and running 'uname -a' in it"
./build/bin/hearthd vm run --rootfs minimal -- uname -a
echo
echo "hearth: booting 'debian-12' and running python3 in it"
./build/bin/hearthd vm run --rootfs debian-12 -- python3 -c 'import platform; print("python", platform.python_version(), "in", platform.node())'
cat <<'NEXT'

Next, try:
  ./build/bin/hearthd vm run --rootfs debian-12 --vcpus 2 --memory 512 -- sh -c 'nproc; free -m'
  make test     # the test suite, booting real microVMs
  make bench    # boot, exec and file-transfer benchmarks
NEXT
