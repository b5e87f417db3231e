#!/usr/bin/env bash
# The version management commands of the workflow document (create-tag, validate): a thin wrapper over the
# same program as minor-release-manager.sh (bin/cli.ts), under this script's name.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The project's own Node (the "node" devDependency) comes first, so the CLI runs on Node 24.
export PATH="$root/node_modules/.bin:$PATH"
export SECUREWATCH_CLI_NAME="tag-based-deploy.sh"

exec tsx "$root/bin/cli.ts" "$@"
