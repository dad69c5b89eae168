#!/usr/bin/env bash
# The GPU device check (bench/gpu-check.ts): parity of the batched client-training path and of every per-call
# gpu.js kernel on the real GPU, then client updates/s of the UCI-HAR model on the batched path for C in
# {1, 16, 64, 256, 1024} against the CPU path on all cores (what `fedmm bench --only gpu-round` measures), then
# gemm GFLOP/s, a GRU-classifier train step and client-update accumulation through the per-call interface.
#
# Installs nothing and needs no network. What it needs comes from the repository or from .gpucheck/ (made by
# bench/gpu-bundle.sh on a machine with the project built):
#   .gpucheck/bundle.tar.xz  dist/, build/Release/fedmm.node and the node_modules subset (gpu.js, webgpu's
#                            Dawn binary, acorn, gpu-mock.js, tinybench), unpacked here when they are missing;
#   .gpucheck/node.xz        a Node.js binary, used when there is no `node` on PATH (nor ./.node/bin/node);
#   .gpucheck/debs/*.deb     the Vulkan loader and libglvnd (used when the system lacks them) and a newer
#                            glibc/libstdc++ (used only if the Dawn binary cannot load against the system's).
# Usage: bench/gpu-check.sh  (from anywhere; runs in the repository root). Ends within 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUNDLE=$ROOT/.gpucheck
VULKAN=$BUNDLE/vulkan  # the Vulkan loader alone: safe on LD_LIBRARY_PATH for every program
GLIBC=$BUNDLE/glibc    # glibc/libstdc++: only ever for node, through their own ld.so

if [ -f "$BUNDLE/bundle.tar.xz" ] && { [ ! -f dist/bench/gpu-check.js ] || [ ! -d node_modules/gpu.js ]; }; then
  echo "gpu-check: unpacking .gpucheck/bundle.tar.xz"
  tar -xJf "$BUNDLE/bundle.tar.xz" -C "$ROOT" || { echo "gpu-check: bundle unpack failed"; exit 2; }
fi

NODE=$(command -v node || true)
if [ -z "$NODE" ] && [ -x "$ROOT/.node/bin/node" ]; then NODE=$ROOT/.node/bin/node; fi
if [ -z "$NODE" ] && [ -f "$BUNDLE/node.xz" ]; then
  mkdir -p "$BUNDLE/bin"
  [ -x "$BUNDLE/bin/node" ] || { xz -dc "$BUNDLE/node.xz" > "$BUNDLE/bin/node" && chmod +x "$BUNDLE/bin/node"; }
  NODE=$BUNDLE/bin/node
fi
[ -n "$NODE" ] || { echo "gpu-check: no node on PATH, no ./.node/bin/node, no .gpucheck/node.xz"; exit 2; }
echo "gpu-check: node $("$NODE" --version) at $NODE"
[ -f dist/bench/gpu-check.js ] || { echo "gpu-check: dist/bench/gpu-check.js missing (npm run build, or bring .gpucheck/bundle.tar.xz)"; exit 2; }

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu-check: GPU /'

unpack_debs() { # unpack the .deb files matching $1 into the folder $2
  mkdir -p "$2"
  for f in "$BUNDLE"/debs/$1; do [ -f "$f" ] && dpkg -x "$f" "$2"; done
}

# Vulkan loader and GL dispatch: Dawn dlopens libvulkan.so.1, and NVIDIA's Vulkan driver (libGLX_nvidia.so.0)
# needs libglvnd's libGLdispatch.so.0 — without it the loader reports "Could not get 'vkCreateInstance' ...
# for ICD libGLX_nvidia.so.0" and finds no driver. Missing ones come from the bundled Debian packages.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch.so.0'; then
  if ls "$BUNDLE"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
    for pkg in libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2; do unpack_debs "${pkg}_*.deb" "$VULKAN"; done
    export LD_LIBRARY_PATH=$VULKAN/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    echo "gpu-check: system lacks libvulkan.so.1 or libGLdispatch.so.0; using the bundled Vulkan loader and libglvnd"
  else
    echo "gpu-check: no libvulkan.so.1/libGLdispatch.so.0 on this system and none bundled"
  fi
fi
# The NVIDIA Vulkan driver manifest, where the container mounts the driver outside the standard paths.
if [ -z "${VK_DRIVER_FILES:-}" ] && ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; echo "gpu-check: VK_DRIVER_FILES=$icd"; break; fi
  done
fi

# Dawn needs glibc ≥ 2.38 and GLIBCXX_3.4.32; if the system's are older, run node under the bundled ones.
RUN=("$NODE")
DAWN_ERR=$("$NODE" --input-type=module -e "await import('webgpu')" 2>&1 >/dev/null | grep -m1 -E 'GLIBC|GLIBCXX|not found' || true)
if [ -n "$DAWN_ERR" ]; then
  echo "gpu-check: Dawn does not load against the system libraries: $DAWN_ERR"
  if ls "$BUNDLE"/debs/libc6_*.deb >/dev/null 2>&1; then
    unpack_debs 'libc6_*.deb' "$GLIBC"; unpack_debs 'libstdc++6_*.deb' "$GLIBC"; unpack_debs 'libgcc-s1_*.deb' "$GLIBC"
    LIBS=$GLIBC/usr/lib/x86_64-linux-gnu:$GLIBC/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    RUN=("$GLIBC/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$LIBS" "$NODE")
    # the gpu backend's device process (a child node) must start the same way
    export FEDMM_GPU_NODE="[\"${RUN[0]}\",\"--library-path\",\"$LIBS\",\"$NODE\"]"
    echo "gpu-check: running node under the bundled glibc/libstdc++"
  fi
fi

timeout 290 "${RUN[@]}" dist/bench/gpu-check.js
status=$?
[ $status -eq 124 ] && echo "gpu-check: stopped at the 290 s limit"
exit $status
