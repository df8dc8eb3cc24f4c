"""Gzip decompression bombs for the import-safety tests, built in about a second instead of minutes.

Compressing a gigabyte of text at level 9 takes half a minute. A bomb does not need it: one megabyte
of repeated lines is compressed once, by a fresh raw-deflate compressor flushed with Z_FULL_FLUSH, so
its bytes refer to nothing before them and end on a byte boundary; those bytes repeated N times, then
an empty final block, are a deflate stream that expands to the megabyte N times. The gzip header and
trailer (CRC-32 and size) are written around it, so the file is as valid as `gzip.compress` of the
whole text would be and expands the same few hundred times.
"""

import struct
import zlib

MB = 1024 * 1024
GENERIC_HEADER = b"date,provider,model,cost,currency\n"
GENERIC_ROW = b"2025-01-01,openai,gpt-4o,0.01,USD\n"
# A gzip member header: magic, deflate, no flags, no modification time, best compression, Unix.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"


def _deflated(data: bytes) -> bytes:
    """Raw deflate blocks of `data` that stand alone: none is marked last, none refers before it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)


def gzip_bomb(head: bytes, line: bytes, expanded: int) -> bytes:
    """A gzip file of `head` then `line` repeated in 1 MB blocks to about `expanded` bytes, built
    without ever holding or compressing the expanded text."""
    block = line * max(1, MB // len(line))
    copies = max(1, expanded // len(block))
    crc = zlib.crc32(head)
    for _ in range(copies):
        crc = zlib.crc32(block, crc)
    size = len(head) + copies * len(block)
    last = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # an empty block marked last
    body = _deflated(head) + _deflated(block) * copies + last
    return _GZIP_HEADER + body + struct.pack("<II", crc, size % 2**32)
