#!/usr/bin/env bash
# Run every test: unit tests in parallel, then the integration tests, which
# share one Temporal dev server and the local lab of Docker hosts. Ends with a
# plain "N passed, N failed, N skipped" line read from vitest's JSON report.
set -euo pipefail
cd "$(dirname "$0")/.."
npx prettier --check . >/dev/null || { echo 'formatting differs: run "npm run format"' >&2; exit 1; }
npx eslint .
npx tsc --noEmit
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
exit "$status"
