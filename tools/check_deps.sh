#!/usr/bin/env bash
# Usage: tools/check_deps.sh CRATE FORBIDDEN WHAT
# Fails if CRATE depends (normally, not as a dev or build dependency) on a
# crate whose name matches the extended regular expression FORBIDDEN; WHAT
# names the forbidden kind in the messages. The structure checks
# (check_domain_purity.sh, check_store_deps.sh) are calls of this one.
set -euo pipefail
cd "$(dirname "$0")/.."

crate=$1 forbidden=$2 what=$3
tree=$(cargo tree -p "$crate" --edges normal --prefix none --format '{p}' --locked | awk '{print $1}' | sort -u)
offenders=$(grep -E "$forbidden" <<<"$tree" || true)
if [[ -n "$offenders" ]]; then
  echo "$crate must not depend on $what, found:" >&2
  echo "$offenders" >&2
  echo "(cargo tree -p $crate -e normal -i <crate> shows the path)" >&2
  exit 1
fi
echo "$crate: $(wc -l <<<"$tree") crates in its tree, none of them $what"
