#!/usr/bin/env bash
# Checks every kind of answer of the fake PortOne V2 against the types of PortOne's
# server SDK, and its webhooks against the SDK's verifier: the fake's HTTP tests keep what
# they receive in a folder, `tsc` type-checks it, `Webhook.verify` verifies the webhooks.
#
#   bash sdk-checks/portone/run.sh [CAPTURES]
#
# CAPTURES: the folder of answers a test run kept (`cargo test` writes them to
# target/tmp/portone-captures), checked as they are; CI passes the one its workspace test
# run wrote, so nothing is built again. Without it, the script runs the fake's tests
# itself, into a temporary folder. Run from anywhere. Needs node and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -gt 1 ]; then
  echo "usage: $0 [CAPTURES]" >&2
  exit 2
fi
if [ $# -eq 1 ]; then
  if ! responses="$(cd "$1" 2>/dev/null && pwd)" || ! compgen -G "$responses/*.json" >/dev/null; then
    echo "no captured answers in $1: run \`cargo test -p payments-fakes --test portone\` first" >&2
    exit 1
  fi
else
  responses="$(mktemp -d)"
  trap 'rm -rf "$responses"' EXIT
  (cd "$here/../.." && PORTONE_RESPONSES_DIR="$responses" \
    cargo test --locked -q -p payments-fakes --test portone)
fi
cd "$here"
npm ci --no-audit --no-fund --silent
PORTONE_RESPONSES_DIR="$responses" npm run -s check
