"""Memory estimates printed before a run, and out-of-memory errors that say what to change.

An operation that batches under the memory policy (:func:`jaxem.accel.batch_size`) can describe its
working set as a :class:`MemoryEstimate`: named parts [bytes], the budget, the device's free memory
and the batch sizes chosen. ``jaxem … --dry-run`` prints it without running anything.
:func:`out_of_memory_hint` wraps a computation so that XLA's allocation failure
(``RESOURCE_EXHAUSTED``) becomes an :class:`OutOfMemoryError` carrying that estimate and how to lower
it, instead of an allocator trace.
"""
from __future__ import annotations

import contextlib

from .. import pytree, validate

__all__ = ["MemoryEstimate", "OutOfMemoryError", "out_of_memory_hint", "format_bytes", "is_out_of_memory"]


def format_bytes(n) -> str:
    """``1536`` → ``'1.5 KiB'`` (binary units)."""
    n = validate.scalar(n, "n", "bytes")
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


@pytree.dataclass
class MemoryEstimate:
    """The working set of one run [bytes].

    Attributes:
        what: the operation (e.g. ``"STEM scan 64 × 64, 256 × 256 pixels, complex64"``).
        parts: ((name, bytes), …) resident at the same time on the device.
        budget: the memory budget in force [bytes] (:func:`jaxem.accel.memory_budget`).
        free: the device's free memory [bytes].
        batches: ((name, size), …) batch sizes chosen from the budget.
        output: bytes written to disk (0: none).
        hint: how to lower the peak (the arguments or options to change).
    """

    what: str = pytree.field(static=True)
    parts: tuple = pytree.field(static=True)
    budget: int = pytree.field(static=True)
    free: int = pytree.field(static=True)
    batches: tuple = pytree.field(static=True, default=())
    output: int = pytree.field(static=True, default=0)
    hint: str = pytree.field(static=True, default="lower memory_budget (CLI: --memory-budget)")

    @property
    def peak(self) -> int:
        """Sum of the parts [bytes]."""
        return int(sum(b for _, b in self.parts))

    @property
    def fits(self) -> bool:
        """True when the peak is within the device's free memory."""
        return self.peak <= self.free

    def report(self) -> str:
        """A few lines for a terminal."""
        lines = [f"memory estimate: {self.what}"]
        lines += [f"  {name:<34s} {format_bytes(b):>10s}" for name, b in self.parts]
        lines.append(f"  {'peak (device)':<34s} {format_bytes(self.peak):>10s}")
        lines.append(f"  {'budget':<34s} {format_bytes(self.budget):>10s}")
        lines.append(f"  {'free on device':<34s} {format_bytes(self.free):>10s}")
        if self.batches:
            lines.append("  batches: " + ", ".join(f"{n} = {s}" for n, s in self.batches))
        if self.output:
            lines.append(f"  {'written to disk':<34s} {format_bytes(self.output):>10s}")
        lines.append("  fits: " + ("yes" if self.fits else f"NO ({self.hint})"))
        return "\n".join(lines)


class OutOfMemoryError(MemoryError):
    """The device ran out of memory; the message holds the run's estimate and what to change."""


def is_out_of_memory(exc: BaseException) -> bool:
    """True for XLA's allocation failures (``RESOURCE_EXHAUSTED`` / out of memory) and MemoryError."""
    validate.instance(exc, "exc", BaseException, "an exception")
    if isinstance(exc, OutOfMemoryError):
        return False
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return type(exc).__name__ in ("XlaRuntimeError", "JaxRuntimeError") and (
        "RESOURCE_EXHAUSTED" in text or "Out of memory" in text or "out of memory" in text)


def out_of_memory_hint(estimate):
    """Turn an out-of-memory failure inside the block into :class:`OutOfMemoryError`.

    Args:
        estimate: a :class:`MemoryEstimate`, a string, or a function returning either (called only
            when memory ran out, so it costs nothing otherwise).
    """
    if not (isinstance(estimate, (MemoryEstimate, str)) or callable(estimate)) or isinstance(estimate, type):
        raise validate.InputTypeError(f"estimate must be a MemoryEstimate, a string or a function returning one, "
                                      f"got {type(estimate).__name__}")
    return _hint(estimate)


@contextlib.contextmanager
def _hint(estimate):
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - re-raised unless it is an allocation failure
        if not is_out_of_memory(exc):
            raise
        try:
            est = estimate() if callable(estimate) else estimate
            text = est.report() if isinstance(est, MemoryEstimate) else str(est)
            hint = est.hint if isinstance(est, MemoryEstimate) else "lower memory_budget (CLI: --memory-budget)"
        except Exception as inner:  # noqa: BLE001 - the estimate must not hide the real error
            text, hint = f"(no estimate: {inner})", "lower memory_budget (CLI: --memory-budget)"
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise OutOfMemoryError(f"the device ran out of memory ({first}). To fit: {hint}.\n{text}") from None
