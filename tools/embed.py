#!/usr/bin/env python3
# Turns files into C byte arrays so the binary carries its own schema and
# API description: `cohortd` runs from any directory with nothing beside it.
# usage: embed.py OUT.c SYMBOL file FILE
#          const unsigned char SYMBOL[]; const size_t SYMBOL_len;
#        embed.py OUT.c SYMBOL list FILE [FILE ...]
#          const struct embedded_file SYMBOL[]; const size_t SYMBOL_count;
#          (sorted by file name, as migrations must be applied in order)
import os
import sys


def c_bytes(data):
    out = []
    for i in range(0, len(data), 16):
        out.append("  " + ", ".join(str(b) for b in data[i:i + 16]) + ",")
    out.append("  0")
    return "\n".join(out)


def main():
    out, symbol, mode, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    lines = ['#include "embedded.h"', ""]
    if mode == "file":
        data = open(files[0], "rb").read()
        lines.append(f"const unsigned char {symbol}[] = {{\n{c_bytes(data)}\n}};")
        lines.append(f"const size_t {symbol}_len = {len(data)};")
    else:
        files = sorted(files, key=os.path.basename)
        for n, path in enumerate(files):
            data = open(path, "rb").read()
            lines.append(f"static const unsigned char {symbol}_{n}[] = {{\n{c_bytes(data)}\n}};")
        lines.append(f"const struct embedded_file {symbol}[] = {{")
        for n, path in enumerate(files):
            size = os.path.getsize(path)
            lines.append(f'  {{"{os.path.basename(path)}", {symbol}_{n}, {size}}},')
        lines.append("};")
        lines.append(f"const size_t {symbol}_count = {len(files)};")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


main()
