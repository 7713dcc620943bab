#!/bin/sh
# Usage: emulate_config.sh CONFIG.json WORKDIR PYTHON "LINK FLAGS" [GPU OPTIONS]
#
# Compiles the model of CONFIG twice, with infini-to-cpu and with
# infini-to-gpu's stages 1-2 run on the host through infini-emulate-gpu,
# into shared libraries, and runs compare_steps.py on both (one line per
# output or state buffer: "match ..." or "MISMATCH ..."). Expects
# infini-translate, infini-opt, mlir-translate, llc and cc on PATH.
set -e
config=$1 work=$2 python=$3 libs=$4 gpu_options=${5:-}
here=$(dirname "$0")
name=$(basename "$config" .json)
mkdir -p "$work"
base=$work/$name

# -Bsymbolic: the step is called `step`, a name glibc also exports.
library() {
  mlir-translate --mlir-to-llvmir "$1" |
    llc -O2 -relocation-model=pic -filetype=obj -o "$1.o"
  cc -shared -Wl,-Bsymbolic -o "$2" "$1.o" -lm $libs
}

infini-translate --import-config "$config" -o "$base.mlir"
infini-opt "$base.mlir" --infini-to-linalg --infini-linalg-to-loops \
  -o "$base.signatures.mlir"
infini-opt "$base.mlir" --infini-to-cpu='parallel=0' -o "$base.cpu.mlir"
library "$base.cpu.mlir" "$base.cpu.so"
fuse=0
case "$gpu_options" in *fuse-attention=1*) fuse=1 ;; esac
infini-opt "$base.mlir" --infini-to-linalg="fuse-attention=$fuse" \
  --infini-linalg-to-gpu="$gpu_options" --infini-emulate-gpu \
  --infini-loops-to-llvm='parallel=0' -o "$base.gpu.mlir"
library "$base.gpu.mlir" "$base.gpu.so"
echo "config $name"
"$python" "$here/compare_steps.py" "$base.signatures.mlir" \
  "$base.cpu.so" "$base.gpu.so"
