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
lock="$here/package-lock.json"
hash=$(sha256sum "$lock" | cut -c1-16)
cache_root=${CACHE_DIR:-/var/cache/hearth}
if ! mkdir -p "$cache_root/npm" 2>/dev/null || [ ! -w "$cache_root/npm" ]; then
    cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/hearth
    mkdir -p "$cache_root/npm" || die "cannot create an npm cache directory"
fi
dir="$cache_root/npm/s3rver-$hash"
if [ ! -f "$dir/.complete" ]; then
    stage=$(mktemp -d "$cache_root/npm/.stage-XXXXXX") || die "mktemp failed"
    cp "$here/package.json" "$lock" "$stage/"
    if ! (cd "$stage" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
            --cache "$cache_root/npm/.npm-cache" >&2); then
        rm -rf "$stage"
        die "npm ci failed"
    fi
    touch "$stage/.complete"
    # another run may have won the race: keep theirs
    if ! mv -T "$stage" "$dir" 2>/dev/null; then
        rm -rf "$stage"
        [ -f "$dir/.complete" ] || die "could not move s3rver into $dir"
    fi
fi
bin="$dir/node_modules/.bin/s3rver"
[ -x "$bin" ] || die "s3rver missing in $dir"
case "${1:-}" in
    path) echo "$bin" ;;
    run) shift; exec "$bin" "$@" ;;
    *) die "usage: s3rver.sh path | run ARGS…" ;;
esac
