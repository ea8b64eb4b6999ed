"""Shared helpers for benchmark scripts: timing, machine description, atomic JSON results, tables."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import jax

    info = {"python": platform.python_version(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
            "backend": jax.default_backend(), "devices": [str(d.device_kind) for d in jax.devices()][:1],
            "processor": platform.processor() or platform.machine()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time [s] of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cold_time(code: str, env=None) -> float:
    """Wall time [s] of a fresh Python process running ``code`` (imports and compilation included)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **(env or {})},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def write_results(name: str, payload: dict, quick: bool = False) -> Path:
    """Write ``results/NAME.json`` atomically. A reduced run (``quick``, or a payload marked ``smoke``/``small``/
    ``quick``) writes ``results/NAME.quick.json`` instead (not committed): a check that the script runs never
    overwrites the measured numbers."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from jaxem.io import atomic_write_text

    quick = bool(quick or any(payload.get(k) for k in ("smoke", "small", "quick")))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / (f"{name}.quick.json" if quick else f"{name}.json")
    text = json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2, default=float)
    atomic_write_text(path, text + "\n")
    return path


def print_table(header, rows) -> None:
    widths = [max(len(str(h)), *(len(_f(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(_f(c).ljust(w) for c, w in zip(r, widths)))


def _f(c) -> str:
    return f"{c:.4g}" if isinstance(c, float) else str(c)
