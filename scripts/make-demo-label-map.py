#!/usr/bin/env python3
"""Paints the demo label map SPADE's graph translates: a smiling face in the "emoji" palette's
colours (a yellow disc, dark-brown eyes and mouth, a red tongue) on white, the kind of map a user
paints in any paint program with those colours. Standard library only.

  scripts/make-demo-label-map.py OUT.png [SIZE]     (SIZE default 64)
"""
import math
import struct
import sys
import zlib

# The palette of data/palette-labels' "emoji" (plugins/common/palette.h).
WHITE, DARK_BROWN, RED, YELLOW = (255, 255, 255), (102, 69, 0), (221, 46, 68), (255, 204, 77)


def paint(size):
    c = (size - 1) / 2
    r = size * 0.44
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            dx, dy = (x - c) / r, (y - c) / r
            colour = WHITE
            if dx * dx + dy * dy <= 1:
                colour = YELLOW
                for ex in (-0.35, 0.35):  # the eyes: upright ellipses
                    if ((dx - ex) / 0.12) ** 2 + ((dy + 0.25) / 0.22) ** 2 <= 1:
                        colour = DARK_BROWN
                # the mouth: the lower half of a disc, with a tongue at its bottom
                if dy > 0.15 and dx * dx + (dy - 0.15) ** 2 <= 0.55 ** 2:
                    colour = RED if dx * dx + (dy - 0.55) ** 2 <= 0.25 ** 2 else DARK_BROWN
            row.append(colour)
        rows.append(row)
    return rows


def write_png(path, rows):
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2
    size = int(sys.argv[2]) if len(sys.argv) == 3 else 64
    if size < 8:
        print("make-demo-label-map.py: SIZE must be at least 8", file=sys.stderr)
        return 2
    write_png(sys.argv[1], paint(size))
    print(f"wrote {sys.argv[1]}: a {size}x{size} label map in the emoji palette")
    return 0


if __name__ == "__main__":
    sys.exit(main())
