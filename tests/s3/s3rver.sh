#!/usr/bin/env bash
# s3rver.sh: the S3-compatible server of the disk tests and benchmarks (docs/testing.md): s3rver
# from npm, pinned by tests/s3/package-lock.json and installed once with `npm ci` into
# $CACHE_DIR/npm/<hash of the lock> (default /var/cache/hearth), like the SDK of tests/compat.
#   s3rver.sh path          installs when needed, prints the s3rver executable's path
#   s3rver.sh run ARGS…     installs when needed, then execs s3rver ARGS… (e.g. -d DIR -a ADDR
#                           -p PORT --configure-bucket NAME; access key S3RVER, secret S3RVER)
# s3rver checks the access key id (unknown → 403 InvalidAccessKeyId) but not SigV4 signatures:
# a wrong secret is accepted. Tests that need a refused secret say so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "s3rver.sh: $*" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null ||
    die "node and npm are needed (scripts/install-deps.sh installs them)"
. "$here/../../scripts/npm_cache.sh"
npm_cache_install "$here" s3rver- || die "cannot install s3rver"
dir=$npm_dir
bin="$dir/node_modules/.bin/s3rver"
[ -x "$bin" ] || die "s3rver missing in $dir"
case "${1:-}" in
    path) echo "$bin" ;;
    run) shift; exec "$bin" "$@" ;;
    *) die "usage: s3rver.sh path | run ARGS…" ;;
esac
