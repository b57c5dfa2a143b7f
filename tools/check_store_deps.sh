#!/usr/bin/env bash
# Fails if billing-store depends (normally, not as a dev or build
# dependency) on the Lambda runtime or the Lambda glue: the store is the
# billing table's access paths, used by the functions, the operator CLI and
# the tests alike, and has its own error vocabulary (StoreError says whether
# it is retryable; billing-lambda maps it to HTTP, Lambda and SQS outcomes).
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='^(lambda_runtime|lambda_http|aws_lambda_events|billing-lambda)$'
tree=$(cargo tree -p billing-store --edges normal --prefix none --format '{p}' --locked | awk '{print $1}' | sort -u)
offenders=$(grep -E "$forbidden" <<<"$tree" || true)
if [[ -n "$offenders" ]]; then
  echo "billing-store must not depend on the Lambda runtime or billing-lambda, found:" >&2
  echo "$offenders" >&2
  echo "(cargo tree -p billing-store -e normal -i <crate> shows the path)" >&2
  exit 1
fi
echo "billing-store is free of Lambda crates: $(wc -l <<<"$tree") crates in its tree, none of lambda_runtime, lambda_http, aws_lambda_events, billing-lambda"
