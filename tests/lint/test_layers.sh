#!/usr/bin/env bash
# test_layers.sh: the house rules of docs/architecture.md that a machine can check, over src/:
# no include cycle between folders or between the modules of one folder, no source file over
# 1,200 lines, no basename twice (main.c aside), no comment citing a document the repository
# does not carry (the API and CLI references are docs/api.md and docs/cli.md), and the includes
# of src/daemon/tpl (common only; included by ctl, api and cmd only).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lint/check.sh
include_graph() { python3 scripts/include-graph.py src >/tmp/hearth-include-graph.$$ 2>&1; local rc=$?
    grep CYCLE /tmp/hearth-include-graph.$$; rm -f /tmp/hearth-include-graph.$$; return $rc; }
file_sizes() { find src include -name '*.[ch]' -exec wc -l {} + | awk '$2 != "total" && $1 > 1200 {
    print; bad = 1 } END { exit bad }'; }
basenames() { local d; d=$(find src -name '*.[ch]' ! -name main.c -printf '%f\n' | sort | uniq -d)
    [ -z "$d" ] || { echo "$d"; return 1; }; }
# src/daemon/tpl (template parsers and host-side pieces) sits beside host/ and disk/: it includes
# only src/common, and only the control layer, the API, hearthd's commands and its config reader
# (oci_registries is checked with tpl/oci_ref.h) include it
tpl_layer() { local bad
    bad=$(grep -HnE '^\s*#\s*include\s+"' src/daemon/tpl/*.[ch] 2>/dev/null |
        grep -vE '#\s*include\s+"(common|daemon/tpl)/')
    bad+=$(grep -rlE '^\s*#\s*include\s+"daemon/tpl/' src --include='*.[ch]' |
        grep -vE '^src/daemon/((tpl|ctl|api|cmd)/|config\.c$)')
    [ -z "$bad" ] || { echo "$bad"; return 1; }; }
spec_refs() { ! grep -rnE 'spec/(API|CLI)\.md|(^|[^/a-z])(API|CLI)\.md' src include tests bench; }
check no_include_cycles include_graph
check no_source_file_over_1200_lines file_sizes
check basenames_unique basenames
check comments_cite_the_repository_docs spec_refs
check tpl_includes_common_only tpl_layer
echo "harness: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
