#!/usr/bin/env bash
# Checks the fakes' captured answers against PortOne's own published OpenAPI documents: the
# fake I'mport's against the V1 document (Swagger 2.0), the fake PortOne V2's against the V2
# document (OpenAPI 3.0). The documents come from PyPI, in the wheel pinned by hash in
# requirements.txt, and are read out of it, never copied into the repository.
#
#   bash sdk-checks/portone-schema/run.sh IAMPORT_CAPTURES.json PORTONE_CAPTURES_DIR
#
# IAMPORT_CAPTURES.json: what the fakes' `sdk_captures` test wrote (target/tmp/sdk-captures/
# iamport.json); PORTONE_CAPTURES_DIR: what the fake PortOne V2's tests kept
# (target/tmp/portone-captures). The validators are the ones pinned in
# openapi/requirements.txt, in the virtual environment scripts/openapi-validate keeps.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -ne 2 ]; then
  echo "usage: $0 IAMPORT_CAPTURES.json PORTONE_CAPTURES_DIR" >&2
  exit 2
fi
iamport="$(realpath "$1")"
portone="$(realpath "$2")"
cd "$here/../.."

python="$(scripts/openapi-validate --python)"
wheels="${CARGO_TARGET_DIR:-$PWD/target}/portone-schema"
rm -rf "$wheels"
# The wheel says it needs Python 3.12; only its data files are read, so any Python will do.
"$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.12 --require-hashes -r "$here/requirements.txt" -d "$wheels"
wheel="$(echo "$wheels"/portone_mcp_server-*.whl)"
exec "$python" "$here/check.py" --wheel "$wheel" --iamport "$iamport" --portone "$portone"
