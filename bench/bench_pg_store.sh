#!/usr/bin/env bash
# bench_pg_store.sh: the API's store-backed latencies (GET of one sandbox, a 500-row page, the
# walk of 10,000 rows) with SQLite and with PostgreSQL as the store, side by side: bench_api in
# its HEARTH_TEST_PG mode under a throwaway cluster (tests/pg/pgserver.sh: Debian's postgresql,
# unix socket, fsync off, so the numbers are the protocol's and the queries', not a disk's).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/build/bench/bench_api
[ -x "$bench" ] || { echo "bench_pg_store: skipped: no $bench; run make bench"; exit 0; }
exec "$root/tests/pg/pgserver.sh" -- "$bench"
