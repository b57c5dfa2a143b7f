#!/usr/bin/env bash
# Fails if the pure billing-domain crate depends (normally, not as a dev or
# build dependency) on anything that does I/O: the AWS SDK, an async runtime,
# HTTP or socket crates. The domain must be testable without a cloud.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(aws-|aws_|tokio|mio|hyper|reqwest|h2|rustls|native-tls|openssl|socket2|lambda_|async-std|smol|ureq|curl)'
tree=$(cargo tree -p billing-domain --edges normal --prefix none --format '{p}' --locked | awk '{print $1}' | sort -u)
offenders=$(grep -E "$forbidden" <<<"$tree" || true)
if [[ -n "$offenders" ]]; then
  echo "billing-domain must not depend on I/O crates, found:" >&2
  echo "$offenders" >&2
  exit 1
fi
echo "billing-domain is pure: $(wc -l <<<"$tree") crates in its tree, none doing I/O"
