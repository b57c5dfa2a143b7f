#!/usr/bin/env bash
# Fails if billing-store depends (normally, not as a dev or build
# dependency) on the Lambda runtime or the Lambda glue: the store is the
# billing table's access paths, used by the functions, the operator CLI and
# the tests alike, and has its own error vocabulary (StoreError says whether
# it is retryable; billing-lambda maps it to HTTP, Lambda and SQS outcomes).
exec "$(dirname "$0")/check_deps.sh" billing-store \
  '^(lambda_runtime|lambda_http|aws_lambda_events|billing-lambda)$' \
  'Lambda runtime crates (lambda_runtime, lambda_http, aws_lambda_events, billing-lambda)'
