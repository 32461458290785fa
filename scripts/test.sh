#!/usr/bin/env bash
# Run every test: unit tests in parallel, then the integration tests, which
# share one Temporal dev server and the local lab of Docker hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
npx vitest run "$@"
