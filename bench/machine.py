"""What the benchmarks ran on: the CPU by name, its cores, and the instructions int8 arithmetic uses."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.config import available_cores  # noqa: E402

INT8_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16")


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe(flags: tuple[str, ...] = INT8_FLAGS, what: str = "int8") -> str:
    """One line: "Intel(R) Xeon(R) Processor, 2 cores; int8-relevant flags: avx2, avx512_vnni, amx_int8"."""
    isa = ", ".join(f for f in flags if f in cpu_flags()) or "none"
    return f"{cpu_name()}, {available_cores()} cores; {what}-relevant flags: {isa}"
