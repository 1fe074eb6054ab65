#!/bin/bash
# Every shipped experiment file loads (keys, sections, values checked against the
# schema), and every paper sweep validates its grid — so a key renamed in the code
# cannot silently break the files users start from.
set -euo pipefail
: "${FEDTAIL:?}" "${FT_SOURCE_DIR:?}"
cd "$FT_SOURCE_DIR"
n=0
for f in experiments/*.ini experiments/tutorial/*.ini experiments/presets/*.ini \
    experiments/paper/base/*.ini experiments/text/*.ini; do
    # --help stops after the experiment is loaded and checked.
    "$FEDTAIL" run "$f" --help >/dev/null 2>"/tmp/experiments_parse.$$" || {
        echo "FAIL: $f: $(cat "/tmp/experiments_parse.$$")"
        rm -f "/tmp/experiments_parse.$$"
        exit 1
    }
    n=$((n + 1))
done
rm -f "/tmp/experiments_parse.$$"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$FEDTAIL" sweep experiments/paper/*.ini --dry-run --out "$out" >/dev/null ||
    { echo "FAIL: a paper sweep does not validate"; exit 1; }
echo "$n experiment files and the paper sweeps load"
