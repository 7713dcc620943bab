#!/usr/bin/env python3
"""Extract the PTX of each gpu.binary in MLIR text and optionally assemble it.

Usage: extract_ptx.py INPUT.mlir|- [--out-dir DIR] [--ptxas PTXAS --arch sm_80 ...]

The input is `infini-opt --infini-to-gpu='format=isa'` output (or its last
stage): each `#gpu.object` then holds `assembly = "..."`, PTX text in MLIR's
string escapes. Prints one line per object (`ptx <binary> <target> <bytes>`)
and, with --ptxas, one line per object and architecture it assembled
(`assembled <binary> for <arch>`). Exits non-zero, printing ptxas' message,
on the first object that does not assemble, or when there is no PTX at all.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

BINARY = re.compile(r'gpu\.binary @([\w$.]+)')
OBJECT = re.compile(r'chip = "([\w]+)"[^\]]*?assembly = "((?:[^"\\]|\\.)*)"')


def unescape(text):
    """Decodes an MLIR string literal body (\\XX hex, \\\\, \\", \\n, \\t)."""
    out = bytearray()
    i = 0
    raw = text.encode('utf-8')
    while i < len(raw):
        if raw[i] == 0x5C:  # backslash
            nxt = raw[i + 1:i + 3]
            if re.fullmatch(rb'[0-9a-fA-F]{2}', nxt):
                out.append(int(nxt, 16))
                i += 3
                continue
            esc = {ord('n'): 10, ord('t'): 9, ord('"'): 34, ord('\\'): 92}
            out.append(esc[raw[i + 1]])
            i += 2
            continue
        out.append(raw[i])
        i += 1
    return out.decode('utf-8')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input')
    parser.add_argument('--out-dir')
    parser.add_argument('--ptxas')
    parser.add_argument('--arch', action='append', default=[])
    args = parser.parse_args()

    text = sys.stdin.read() if args.input == '-' else open(args.input).read()
    objects = []
    for line in text.splitlines():
        binary = BINARY.search(line)
        if not binary:
            continue
        for chip, body in OBJECT.findall(line):
            objects.append((binary.group(1), chip, unescape(body)))
    if not objects:
        print('error: no PTX (gpu.binary with format=isa) in the input')
        return 1

    out_dir = args.out_dir or tempfile.mkdtemp(prefix='infini-ptx-')
    os.makedirs(out_dir, exist_ok=True)
    for name, chip, ptx in objects:
        path = os.path.join(out_dir, f'{name}.{chip}.ptx')
        with open(path, 'w') as f:
            f.write(ptx)
        print(f'ptx {name} {chip} {len(ptx)}')
        for arch in args.arch:
            result = subprocess.run(
                [args.ptxas, f'-arch={arch}', path, '-o', os.devnull],
                capture_output=True, text=True)
            if result.returncode != 0:
                print(f'error: ptxas -arch={arch} rejected {path}:')
                print(result.stdout + result.stderr)
                return 1
            print(f'assembled {name} for {arch}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
