#!/bin/bash
# Fails listing every C/CUDA source file that clang-format would change.
clang_format="${1:-clang-format}"
bad=0
while IFS= read -r -d '' f; do
    if ! "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not clang-formatted: $f"
        bad=1
    fi
done < <(find common proto data kernels model attacks defenses scenario secagg client coordinator cli report fuzz tests bench \
    examples include \
    \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) -print0 2>/dev/null)
exit $bad
