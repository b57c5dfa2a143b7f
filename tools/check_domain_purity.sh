#!/usr/bin/env bash
# Fails if the pure billing-domain crate depends (normally, not as a dev or
# build dependency) on anything that does I/O: the AWS SDK, an async runtime,
# HTTP or socket crates. The domain must be testable without a cloud.
exec "$(dirname "$0")/check_deps.sh" billing-domain \
  '^(aws-|aws_|tokio|mio|hyper|reqwest|h2|rustls|native-tls|openssl|socket2|lambda_|async-std|smol|ureq|curl)' \
  'I/O crates (AWS SDK, async runtime, HTTP, sockets)'
