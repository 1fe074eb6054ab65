#!/bin/bash
# docs/configuration.md is generated from the key table: it must match what
# `fedtail keys --markdown` prints now, so the docs never drift from the code.
set -euo pipefail
: "${FEDTAIL:?}" "${FT_SOURCE_DIR:?}"
doc="$FT_SOURCE_DIR/docs/configuration.md"
if ! diff <("$FEDTAIL" keys --markdown) <(sed -n '/^| key |/,$p' "$doc") >/tmp/docs_config.diff.$$; then
    cat /tmp/docs_config.diff.$$
    rm -f /tmp/docs_config.diff.$$
    echo "FAIL: docs/configuration.md is stale: regenerate it (see its first lines)"
    exit 1
fi
rm -f /tmp/docs_config.diff.$$
echo "docs/configuration.md matches the key table"
