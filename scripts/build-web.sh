#!/usr/bin/env bash
# Builds weir's web dashboard (web/, TypeScript) into web/dist, which the weir-rest crate embeds
# when weir is compiled next. Needs Node.js 20+ and npm (Debian's nodejs and npm are installed
# when missing); the packages come from npm's registry as pinned in web/package-lock.json.
# Safe to run again: installs only when the lockfile changed, builds only when a source did.
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends nodejs npm >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends nodejs npm >/dev/null 2>&1; } \
    || { echo "the dashboard needs Node.js and npm (apt-get install nodejs npm)" >&2; exit 1; }
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --silent
fi
newest_source=$(find src index.html package-lock.json vite.config.ts tsconfig.json -type f -newer dist/index.html 2>/dev/null | head -1 || true)
if [ ! -f dist/index.html ] || [ -n "$newest_source" ]; then
  npm run --silent build >/dev/null
fi
echo "web/dist: $(find dist -type f | wc -l) files, $(du -sk dist | cut -f1) KiB"
