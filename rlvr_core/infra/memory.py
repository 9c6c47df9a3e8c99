"""Keep freed memory inside the process, so a training step does not page-fault its tensors in anew.

glibc's malloc serves large blocks (a layer's activations, the 113 MB gradient of SmolLM2's
embedding) with fresh ``mmap`` pages and hands memory back to the kernel when it is freed. A GRPO
step on the CPU allocates and frees the same few GB every step, so every step paid for them again
in page faults: 200-270 thousand per SmolLM2 step, seen in ``ru_minflt``, and about a second of an
8-9 s step on the 2-core reference machine. With ``mmap`` off and trimming raised, freed blocks
stay in the heap and the next step reuses them (0 faults per step after the first). The
arithmetic is untouched: the same numbers land in different addresses.

The price: the process keeps its peak memory until it exits, which training does anyway.
"""
from __future__ import annotations

import ctypes
import sys

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
KEEP_UP_TO = 2 ** 31 - 1  # bytes of free heap top kept before trimming (mallopt takes a C int)

_kept = None


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (no ``mmap`` blocks, trimming only above 2 GiB).

    Process-wide and idempotent. Returns whether it applies: False off Linux or with a C library
    without ``mallopt`` (musl, macOS), where nothing is changed."""
    global _kept
    if _kept is None:
        _kept = _mallopt({M_MMAP_MAX: 0, M_TRIM_THRESHOLD: KEEP_UP_TO})
    return _kept


def _mallopt(settings: dict[int, int]) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; all settings are tried even if one fails
    return all([mallopt(param, value) == 1 for param, value in settings.items()])
