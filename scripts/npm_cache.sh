# npm_cache.sh: sourced by scripts that need packages from npm (scripts/build-console.sh for the
# console's build tools, tests/compat/run.sh for the
# SDK, tests/s3/s3rver.sh for s3rver). npm_cache_install DIR PREFIX installs DIR's package.json
# as pinned by DIR/package-lock.json with `npm ci` into $CACHE_DIR/npm/<PREFIX><hash of the lock>
# (default /var/cache/hearth; ~/.cache/hearth when that is not writable), once: later calls find
# it complete. Sets npm_dir to that directory; returns non-zero with a message on stderr.
npm_cache_install() {
    local src=$1 prefix=$2 lock hash root stage
    lock="$src/package-lock.json"
    hash=$(sha256sum "$lock" | cut -c1-16) || return 1
    root=${CACHE_DIR:-/var/cache/hearth}
    if ! mkdir -p "$root/npm" 2>/dev/null || [ ! -w "$root/npm" ]; then
        root=${XDG_CACHE_HOME:-$HOME/.cache}/hearth
        mkdir -p "$root/npm" || { echo "cannot create an npm cache directory" >&2; return 1; }
    fi
    npm_dir="$root/npm/$prefix$hash"
    [ -f "$npm_dir/.complete" ] && return 0
    echo "installing $src/package.json into $npm_dir (npm ci)" >&2
    stage=$(mktemp -d "$root/npm/.stage-XXXXXX") || return 1
    cp "$src/package.json" "$lock" "$stage/"
    if ! (cd "$stage" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
            --cache "$root/npm/.npm-cache" >&2); then
        rm -rf "$stage"
        echo "npm ci failed" >&2
        return 1
    fi
    touch "$stage/.complete"
    # another run may have won the race: keep theirs
    if ! mv -T "$stage" "$npm_dir" 2>/dev/null; then
        rm -rf "$stage"
        [ -f "$npm_dir/.complete" ] || { echo "could not move it into $npm_dir" >&2; return 1; }
    fi
}
