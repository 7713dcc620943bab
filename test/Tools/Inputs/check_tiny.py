#!/usr/bin/env python3
"""Checks infini-run's output for tiny-model.mlir against a plain-Python
evaluation: y = x + (rmsnorm(x) * norm.weight) proj.weight^T, eps 1e-5.

    check_tiny.py WEIGHTS.safetensors INPUT.npy OUTPUT.npy

Prints "PASS shape=..." or the first mismatch and exits non-zero.
Standard library only.
"""

import ast
import json
import math
import struct
import sys


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path + ": not an .npy file"
    major = data[6]
    if major == 1:
        (length,), start = struct.unpack("<H", data[8:10]), 10
    else:
        (length,), start = struct.unpack("<I", data[8:12]), 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    assert header["descr"] == "<f4" and not header["fortran_order"], header
    shape = list(header["shape"])
    count = math.prod(shape)
    body = data[start + length:]
    return shape, list(struct.unpack("<%df" % count, body[:4 * count]))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        blob = data[8 + length + begin:8 + length + end]
        tensors[name] = struct.unpack("<%df" % (len(blob) // 4), blob)
    return tensors


def main():
    weights_path, input_path, output_path = sys.argv[1:4]
    weights = read_safetensors(weights_path)
    shape, x = read_npy(input_path)
    out_shape, y = read_npy(output_path)
    if out_shape != shape:
        sys.exit("FAIL: output shape %s, expected %s" % (out_shape, shape))
    width = shape[-1]
    norm, proj = weights["norm.weight"], weights["proj.weight"]
    for row in range(len(x) // width):
        xs = x[row * width:(row + 1) * width]
        scale = 1.0 / math.sqrt(sum(v * v for v in xs) / width + 1e-5)
        h = [xs[i] * scale * norm[i] for i in range(width)]
        for o in range(width):
            ref = xs[o] + sum(h[i] * proj[o * width + i] for i in range(width))
            got = y[row * width + o]
            if abs(got - ref) > 1e-4 + 1e-4 * abs(ref):
                sys.exit("FAIL: row %d feature %d: got %r, expected %r"
                         % (row, o, got, ref))
    print("PASS shape=%s" % "x".join(map(str, shape)))


if __name__ == "__main__":
    main()
