#!/usr/bin/env bash
# The workflow document's `update-customer.sh --version v1.1.0 --customer "ACME Corporation"`: a thin wrapper
# over bin/cli.ts update-customer.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The project's own Node (the "node" devDependency) comes first, so the CLI runs on Node 24.
export PATH="$root/node_modules/.bin:$PATH"

exec tsx "$root/bin/cli.ts" update-customer "$@"
