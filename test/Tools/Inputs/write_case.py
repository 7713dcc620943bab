#!/usr/bin/env python3
"""Writes small deterministic weights (.safetensors) and an input (.npy) for
infini-run tests, with the Python standard library only (no numpy).

    write_case.py --weights W.safetensors --tensor NAME=D0xD1... [--tensor ...]
                  --input IN.npy --input-shape B,N[,D] [--ids V]

Weight values are small and deterministic (a sine of the element index), so a
run neither overflows nor depends on a random generator. With --ids V the
input is int64 token ids in [0, V); otherwise float32 hidden states.
"""

import argparse
import json
import math
import struct


def parse_shape(text):
    return [int(d) for d in text.replace(",", "x").split("x") if d]


def values(count, seed):
    return [0.5 * math.sin(0.37 * i + seed) for i in range(count)]


def write_safetensors(path, tensors):
    """tensors: list of (name, shape, float values), stored as F32."""
    header, blobs, offset = {}, [], 0
    for name, shape, data in tensors:
        blob = struct.pack("<%df" % len(data), *data)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_npy(path, descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % d for d in shape))
    # Magic, version 1.0, header length; the header is padded to 64 bytes.
    padding = -(10 + len(header) + 1) % 64
    header = header + " " * padding + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00")
        f.write(struct.pack("<H", len(header)))
        f.write(header.encode("latin1"))
        f.write(payload)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--tensor", action="append", default=[],
                        help="NAME=D0xD1... (repeatable)")
    parser.add_argument("--input", required=True)
    parser.add_argument("--input-shape", required=True)
    parser.add_argument("--ids", type=int, default=0,
                        help="vocabulary size: write int64 ids instead")
    args = parser.parse_args()

    tensors = []
    for index, spec in enumerate(args.tensor):
        name, shape_text = spec.split("=")
        shape = parse_shape(shape_text)
        tensors.append((name, shape, values(math.prod(shape), index)))
    write_safetensors(args.weights, tensors)

    shape = parse_shape(args.input_shape)
    count = math.prod(shape)
    if args.ids:
        ids = [(7 * i + 3) % args.ids for i in range(count)]
        write_npy(args.input, "<i8", shape, struct.pack("<%dq" % count, *ids))
    else:
        data = values(count, 0.25)
        write_npy(args.input, "<f4", shape, struct.pack("<%df" % count, *data))


if __name__ == "__main__":
    main()
