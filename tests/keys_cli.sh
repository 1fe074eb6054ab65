#!/bin/bash
# fedtail keys: a section or key narrows the list, choice keys list their values
# (attack.method and defense.name: every registered plug-in), bad arguments are
# usage errors. Expected values are read from the source tables, not from fedtail.
set -euo pipefail
: "${FEDTAIL:?}" "${FT_SOURCE_DIR:?}"
schema="$FT_SOURCE_DIR/common/ft_config_schema.c"
fail() { echo "FAIL: $*"; exit 1; }

# A section lists exactly its keys, in schema order.
for section in federation attack defense run; do
    want="$(grep -o "{\"$section\.[a-z_0-9]*\"" "$schema" | tr -d '{"')"
    got="$("$FEDTAIL" keys "$section" | awk '$1 ~ /\./ {print $1}')"
    [ "$want" = "$got" ] || fail "keys $section: got [$got], want [$want]"
done
# A filter is a whole section or key name, not a prefix of one.
rc=0; "$FEDTAIL" keys attack.edge >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "keys attack.edge (a prefix of keys) accepted: rc $rc"
rc=0; "$FEDTAIL" keys attac >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "keys attac (a prefix of a section) accepted: rc $rc"

# One key.
[ "$("$FEDTAIL" keys federation.partition | awk '$1 ~ /\./ {print $1}')" = federation.partition ] ||
    fail "keys federation.partition"
# Its values, from the schema's choices column.
choices="$(grep -o '"federation.partition", FT_KEY_ENUM, "[^"]*", "[^"]*"' "$schema" | awk -F'"' '{print $6}')"
"$FEDTAIL" keys federation.partition | grep -qF "one of: $choices" || fail "partition choices [$choices] not listed"

# Registry-backed keys list one value per registry line (+ "none" for attacks).
registry_count() { grep -cE "^ *X\($1" "$2"; }
n_def="$(registry_count ft_defense_ "$FT_SOURCE_DIR/defenses/ft_defense_registry.c")"
n_att="$(registry_count ft_ "$FT_SOURCE_DIR/attacks/ft_attack_registry.c")"
listed() { "$FEDTAIL" keys "$1" | sed -n 's/^ *one of: //p' | tr '|' '\n' | grep -c .; }
[ "$(listed defense.name)" -eq "$n_def" ] || fail "defense.name lists $(listed defense.name), registry has $n_def"
[ "$(listed attack.method)" -eq "$((n_att + 1))" ] || fail "attack.method lists $(listed attack.method), registry has $n_att + none"
"$FEDTAIL" keys defense.name | grep -q 'one of: .*\bkrum\b' || fail "krum missing from defense.name"

# The markdown table carries the same values in the type column.
"$FEDTAIL" keys --markdown | grep -F '| `defense.name` |' | grep -q 'multi-krum' || fail "markdown: defense.name values"
"$FEDTAIL" keys defense --markdown | tail -n +3 | grep -v '^| `defense\.' && fail "markdown filter"

# Usage errors and help.
rc=0; "$FEDTAIL" keys nosuch >/dev/null 2>/tmp/keys_err.$$ || rc=$?
[ "$rc" -eq 2 ] && grep -q "no key or section 'nosuch'" /tmp/keys_err.$$ || fail "unknown section: rc $rc"
rc=0; "$FEDTAIL" keys attack defense >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "two filters accepted"
rm -f /tmp/keys_err.$$
"$FEDTAIL" keys --help | grep -q "usage: fedtail keys" || fail "--help"
echo "keys filters and lists choices"
