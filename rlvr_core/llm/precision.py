"""bf16 on a CPU: whether the processor multiplies bf16 natively (recorded with ``bf16: true``
runs, whose thresholds are compared only with runs of the same precision).

Measured on a 2-core AVX-512 BF16 machine without AMX: a 2048^3 matmul ran 2.2x faster in bf16
than in fp32, but a SmolLM2 GRPO step under bf16 autocast only 15-25% faster; the casts and the
bf16 elementwise and attention kernels ate the rest. Sampling from a pure-bf16 copy of the model
was slower than sampling under autocast (5.2 s against 4.0 s for 16 x 24 tokens, 1 thread).
"""
from __future__ import annotations

from pathlib import Path

# cpuinfo flags, best first: AMX tiles (Sapphire Rapids and later), then AVX-512 BF16 dot products
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_bf16_support(cpuinfo: str | None = None) -> str | None:
    """The processor's bf16 matmul instructions (``amx_bf16``, ``avx512_bf16``) from
    ``/proc/cpuinfo``, or None: without them torch emulates bf16 and autocast only adds casts."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.exists() else ""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return next((f for f in BF16_CPU_FLAGS if f in flags), None)
