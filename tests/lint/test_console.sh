#!/usr/bin/env bash
# test_console.sh: the web console's rules a machine can check (docs/console.md): no module
# makes markup from strings (innerHTML, outerHTML, insertAdjacentHTML, document.write,
# DOMParser, createContextualFragment: all text goes through dom.js as text nodes), no eval
# or Function(), no inline script or style in index.html (the CSP forbids them), no talking to
# another origin (every request is a relative /v1/ path through api.js), and no module over
# 800 lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lint/check.sh
none() { ! grep -rnE "$1" console/src --include="*.js" | grep -vE "^[^:]+:[0-9]+:\s*//"; }
no_markup() { none '\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment'; }
no_eval() { none '\beval\(|new Function\(|\bFunction\(|setTimeout\(\s*["'"'"'`]'; }
no_inline() { ! grep -nE '<script>|<script [^>]*>[^<]|<style|\son[a-z]+=|style=' console/index.html; }
same_origin() { none '(fetch|WebSocket)\(\s*["'"'"'`]https?:|https?://[a-z0-9.-]+\.[a-z]{2,}/'; }
sizes() { find console/src -name '*.js' -exec wc -l {} + | awk '$2 != "total" && $1 > 800 { print; bad = 1 } END { exit bad }'; }
check console_makes_no_markup_from_strings no_markup
check console_has_no_eval no_eval
check console_page_has_no_inline_code no_inline
check console_talks_to_its_own_origin_only same_origin
check console_modules_stay_small sizes
echo "harness: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
