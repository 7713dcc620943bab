#!/usr/bin/env bash
# Installs what Infini needs on Debian 12 (LLVM/MLIR 22, build tools, the
# runtime's libraries, and python3-torch/numpy for the float64 reference used
# by the tests), then configures and builds into ./build.
#
# Usage: scripts/setup.sh            (run as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(cmake ninja-build g++ python3 python3-numpy python3-torch
          llvm-22-dev libmlir-22-dev mlir-22-tools libomp-22-dev
          zlib1g-dev nlohmann-json3-dev libgtest-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

cmake -G Ninja -S . -B build
ninja -C build -j"${INFINI_BUILD_JOBS:-2}"
