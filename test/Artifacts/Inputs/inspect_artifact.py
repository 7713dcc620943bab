#!/usr/bin/env python3
"""Prints an infini artifact's manifest one fact per line, for FileCheck.

    inspect_artifact.py MODEL.infini

Reads the layout runtime/Artifact.h specifies independently of the runtime:
magic, version, manifest length, JSON manifest, and checks that every section
lies inside the file at a 64-byte aligned offset.
"""

import json
import struct
import sys


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"INFINIAR":
        sys.exit(f"{path}: bad magic {data[:8]!r}")
    version, zero, length = struct.unpack_from("<IIQ", data, 8)
    if version != 1 or zero != 0:
        sys.exit(f"{path}: version {version}, reserved {zero}")
    manifest = json.loads(data[24:24 + length])
    print("target", manifest["target"])
    print("chip", manifest["chip"] or "-")
    print("step_symbol", manifest["step_symbol"])
    print("prepare_symbol", manifest["prepare_symbol"] or "-")
    for arg in manifest["step_args"]:
        print("arg", arg["role"], arg["name"], arg["dtype"], arg["shape"])
    for arg in manifest["prepare_args"]:
        print("prepare_arg", arg["role"], arg["name"], arg["dtype"], arg["shape"])
    for section in manifest["sections"]:
        offset, size = section["offset"], section["size"]
        if offset % 64 or offset < 24 + length or offset + size > len(data):
            sys.exit(f"{path}: section {section['name']} at {offset}+{size} is misplaced")
        magic = ""
        if section["kind"] == "cuda_fatbin":
            magic = " magic " + data[offset:offset + 4][::-1].hex()
        print("section", section["kind"], section["name"], size, magic)


if __name__ == "__main__":
    main(sys.argv[1])
