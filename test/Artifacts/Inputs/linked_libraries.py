#!/usr/bin/env python3
"""Prints the shared libraries a tool on PATH loads at startup (ldd), one per line.

    linked_libraries.py TOOL
"""

import shutil
import subprocess
import sys

tool = shutil.which(sys.argv[1])
if not tool:
    sys.exit(f"{sys.argv[1]} not found on PATH")
out = subprocess.run(["ldd", tool], check=True, capture_output=True, text=True).stdout
for line in out.splitlines():
    print(line.split()[0])
