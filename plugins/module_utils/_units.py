# Copyright (c) 2026, kvmops maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sizes as operators write them (``4GiB``, ``512MiB``, ``20G``) to exact bytes/KiB.

Pure and dependency-free so argument validation, XML building and unit tests
share it. Binary prefixes are powers of 1024; SI prefixes (kB, MB, GB, TB)
are powers of 1000, as libvirt reads them. Single letters (K, M, G, T) are
binary, matching qemu-img and libvirt's own shorthand.
"""

from __future__ import annotations

import re

_UNITS = {
    "b": 1,
    "bytes": 1,
    "": None,  # the caller's default unit
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
    "t": 1024**4,
    "tib": 1024**4,
    "tb": 1000**4,
    "p": 1024**5,
    "pib": 1024**5,
    "pb": 1000**5,
    "e": 1024**6,
    "eib": 1024**6,
    "eb": 1000**6,
}

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


class SizeError(ValueError):
    """A size that cannot be read; the message says which value and why."""


def parse_size(value, default_unit="MiB"):
    """``value`` (int or str such as ``'4GiB'``) → bytes; a bare number is in ``default_unit``.

    Fractions are refused instead of rounded so a typo cannot silently change a size.
    """
    if isinstance(value, bool):
        raise SizeError(f"size {value!r} is not a number with an optional unit")
    if isinstance(value, int):
        number, unit = value, ""
    else:
        match = _SIZE_RE.match(str(value))
        if not match:
            raise SizeError(f"size {value!r} is not a whole number with an optional unit such as MiB or GiB")
        number, unit = int(match.group(1)), match.group(2)
    if number < 0:
        raise SizeError(f"size {value!r} is negative")
    factor = _UNITS.get(unit.lower(), 0)
    if factor == 0:
        raise SizeError(f"size {value!r} has unknown unit {unit!r}; use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB")
    if factor is None:
        factor = _UNITS[default_unit.lower()]
    return number * factor


def parse_size_kib(value, default_unit="MiB"):
    """Like :func:`parse_size` but in KiB, libvirt's memory unit; refuses sizes that are not whole KiB."""
    size = parse_size(value, default_unit)
    if size % 1024:
        raise SizeError(f"size {value!r} is not a whole number of KiB")
    return size // 1024


def format_bytes(size):
    """Bytes → the largest binary unit that divides it exactly (``4294967296`` → ``'4GiB'``)."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"
