#!/usr/bin/env bash
# Issue #23: Stoplight Prism's proxy validator (`prism proxy --errors docs/openapi.json <service>`)
# in front of the whole API while test/prism-journey.e2e-spec.ts drives a journey through it as every
# role; it fails on any violation Prism reports.
#
# Prism is not a dependency of the project: it is installed on demand under .cache/prism (ignored by
# git), pinned to 5.14.2, the newest release whose `engines` accepts Node 20 (5.15 and 5.16 declare
# Node >= 24).
set -euo pipefail
cd "$(dirname "$0")/.."
PRISM_VERSION=5.14.2
PREFIX=.cache/prism
if [ "$("$PREFIX/node_modules/.bin/prism" --version 2>/dev/null)" != "$PRISM_VERSION" ]; then
  npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --ignore-scripts \
    "@stoplight/prism-cli@$PRISM_VERSION" >&2
fi
npm run -s build
PRISM_BIN="$PWD/$PREFIX/node_modules/.bin/prism" npx vitest run test/prism-journey.e2e-spec.ts "$@"
