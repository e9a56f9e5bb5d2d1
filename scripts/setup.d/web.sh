#!/usr/bin/env bash
# The web app served by `chimera ui` (relayer/web, docs/ui.md): its npm
# packages, exactly as package-lock.json pins them (npm registry only; the
# download cache in $CHIMERA_CACHE/npm), and its build into relayer/web/dist.
# Each part runs only when its inputs changed: stamps outside the clone are
# keyed by the clone's path and a hash of the lock (packages) or of the
# lock, the sources and the build configs (build).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
web="$CHIMERA_ROOT/relayer/web"
command -v node >/dev/null || die "web: Node.js not found (Node 20 and npm 11 come with the machine)"
command -v npm >/dev/null || die "web: npm not found"
cd "$web"

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
deps_key="$CHIMERA_ROOT $lock_hash node $(node --version)"
if [ -f node_modules/.package-lock.json ] && stamp_ok web-deps "$deps_key"; then
  log "web: npm packages present (lock ${lock_hash:0:12})"
else
  log "web: npm ci (lock ${lock_hash:0:12}, cache $CHIMERA_CACHE/npm)"
  npm ci --cache "$CHIMERA_CACHE/npm" --prefer-offline --no-audit --no-fund --loglevel=error
  stamp_set web-deps "$deps_key"
fi

src_hash=$(
  { sha256sum package-lock.json package.json index.html tsconfig.json vite.config.ts
    find src -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1
)
build_key="$CHIMERA_ROOT $src_hash"
if [ -f dist/index.html ] && stamp_ok web-build "$build_key"; then
  log "web: relayer/web/dist up to date (sources ${src_hash:0:12})"
else
  log "web: building relayer/web/dist (sources ${src_hash:0:12})"
  npm run build --silent
  [ -f dist/index.html ] || die "web: the build wrote no dist/index.html"
  stamp_set web-build "$build_key"
fi
