#!/usr/bin/env bash
# Checks every kind of answer of the fake PortOne V2 against the types of PortOne's
# server SDK, and its webhooks against the SDK's verifier: the fake's HTTP tests keep what
# they receive in a folder, `tsc` type-checks it, `Webhook.verify` verifies the webhooks.
# Run from anywhere: `bash sdk-checks/portone/run.sh`. Needs node and npm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
responses="$(mktemp -d)"
trap 'rm -rf "$responses"' EXIT

(cd "$here/../.." && PORTONE_RESPONSES_DIR="$responses" \
  cargo test --locked -q -p payments-fakes --test portone)
cd "$here"
npm ci --no-audit --no-fund --silent
PORTONE_RESPONSES_DIR="$responses" npm run -s check
