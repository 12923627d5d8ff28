#!/usr/bin/env bash
# Gets a real llama.cpp source tree without GitHub: the npm package node-llama-cpp ships it as a
# git bundle. Only the tarball is fetched (installing the package would pull ~700 MB of binaries).
# The checkout lives in a cache folder outside the clone, keyed by the bundle's checksum, so the
# build that the action's toolchain code makes inside it is reused by later runs on this machine.
# Prints the checkout's path.
set -euo pipefail
version=3.21.1
cache="${MLX_FUSE_CACHE:-$HOME/.cache/mlx-fuse-action}"
mkdir -p "$cache"
tarball="$cache/node-llama-cpp-$version.tgz"
if [ ! -s "$tarball" ]; then
  (cd "$cache" && npm pack "node-llama-cpp@$version" --silent >/dev/null)
fi
bundle="$cache/gitRelease-$version.bundle"
if [ ! -s "$bundle" ]; then
  tmp=$(mktemp -d)
  tar -xzf "$tarball" -C "$tmp" package/llama/gitRelease.bundle
  mv "$tmp/package/llama/gitRelease.bundle" "$bundle"
  rm -rf "$tmp"
fi
if command -v sha256sum >/dev/null; then
  sum=$(sha256sum "$bundle" | cut -c1-12)
else
  sum=$(shasum -a 256 "$bundle" | cut -c1-12) # macOS
fi
dir="$cache/llama.cpp-$sum"
if [ ! -f "$dir/convert_hf_to_gguf.py" ]; then
  rm -rf "$dir"
  git clone --quiet "$bundle" "$dir" 2>/dev/null
fi
echo "$dir"
