#!/usr/bin/env bash
# demo.sh: the end of `make run`. Proves the images boot (one command in a throwaway microVM),
# then runs hearthd in the foreground on 127.0.0.1:8080 with the embedded SQLite store, and
# prints the web console's URL and what to type in another terminal. HEARTH_DATA_DIR moves the data (default
# /var/lib/hearth); Ctrl-C stops hearthd (sandboxes' VMs are stopped with it).
set -euo pipefail
cd "$(dirname "$0")/.."
images=${HEARTH_IMAGES:-$PWD/build/images}
data=${HEARTH_DATA_DIR:-/var/lib/hearth}
bin=$PWD/build/bin

echo "hearth: booting a 'minimal' microVM and running 'uname -a' in it"
"$bin/hearthd" vm run --images "$images" --rootfs minimal -- uname -a
echo

mkdir -p "$data"
cat <<NEXT
hearth: starting hearthd on http://127.0.0.1:8080 (data in $data; Ctrl-C stops it)

The web console: open http://127.0.0.1:8080/ in a browser and sign in with the admin key,
which is in $data/admin.key (written at the first start; \`cat\` it and paste it).

In another terminal, try:

  export HEARTH_API_KEY=\$(cat $data/admin.key)
  $bin/hearth sb create --name demo --rootfs devbox:1
  $bin/hearth sb exec demo -- python3 -c 'print("hello from", __import__("platform").node())'
  $bin/hearth sb list
  $bin/hearth sb rm -y demo

NEXT
exec "$bin/hearthd" serve --data-dir "$data" --images "$images"
