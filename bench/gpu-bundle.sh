#!/usr/bin/env bash
# Assembles .gpucheck/ (ignored by git: list /.gpucheck/ in .git/info/exclude) for bench/gpu-check.sh on a
# machine with no Node.js and no network: run here after `npm install` (dist/ and the addon built).
#   .gpucheck/bundle.tar.xz  dist/, build/Release/fedmm.node (if built), node_modules subset for the gpu backend
#                            and the batched round's CPU baseline (piscina's worker pool, msgpack's wire format)
#   .gpucheck/node.xz        this machine's node binary (xz)
#   .gpucheck/debs/          libvulkan1 and libglvnd's libraries (Debian's; NVIDIA's Vulkan driver needs
#                            libGLdispatch), and libc6, libstdc++6, libgcc-s1 from Debian trixie (glibc
#                            2.41, GLIBCXX_3.4.33: what the Dawn binary needs where the system is older)
# Uses apt-get download (Debian's registry) for the .deb files; nothing else is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.gpucheck
mkdir -p "$B/debs"
[ -f dist/bench/gpu-check.js ] || { echo "gpu-bundle: build first (npm run build)"; exit 1; }

paths=(dist node_modules/gpu.js node_modules/acorn node_modules/gpu-mock.js node_modules/tinybench node_modules/piscina node_modules/@msgpack
  node_modules/webgpu/package.json node_modules/webgpu/index.js "node_modules/webgpu/dist/$(uname -s | tr A-Z a-z)-x64.dawn.node")
[ -f build/Release/fedmm.node ] && paths+=(build/Release/fedmm.node)
tar -cf - "${paths[@]}" | xz -T2 -6 > "$B/bundle.tar.xz"
[ -f "$B/node.xz" ] || xz -T2 -9 -c "$(command -v node)" > "$B/node.xz"

(cd "$B/debs" && apt-get download libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2 >/dev/null)
T=$(mktemp -d)
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" > "$T/sources.list"
mkdir -p "$T/lists/partial" "$T/cache/archives/partial"
o=(-oDir::Etc::SourceList="$T/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$T/lists" -oDir::Cache="$T/cache")
apt-get "${o[@]}" update >/dev/null
(cd "$B/debs" && apt-get "${o[@]}" download libc6 libstdc++6 libgcc-s1 >/dev/null)
rm -rf "$T"
du -sh "$B"/* "$B"/debs/*
