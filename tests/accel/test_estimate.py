"""Memory estimates and out-of-memory errors that carry them (never a raw allocator trace)."""
import pytest

from jaxem import accel
from jaxem.accel.estimate import MemoryEstimate, OutOfMemoryError, format_bytes, is_out_of_memory


class XlaRuntimeError(RuntimeError):  # the name XLA's allocation failures carry
    pass


def test_out_of_memory_becomes_a_clear_error():
    est = MemoryEstimate("STEM scan 4 × 4", (("waves", 3 * 2**30), ("masks", 2**20)), 2**30, 2**31,
                         (("positions", 16),), hint="lower memory_budget (now 1.0 GiB)")
    assert est.peak == 3 * 2**30 + 2**20 and not est.fits
    with pytest.raises(OutOfMemoryError, match=r"(?s)ran out of memory \(RESOURCE_EXHAUSTED.*To fit: lower "
                                               r"memory_budget.*waves +3\.0 GiB.*fits: NO"):
        with accel.out_of_memory_hint(lambda: est):
            raise XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 3221225472 bytes.\n"
                                  "BufferAssignment trace …")
    with pytest.raises(ValueError, match="unrelated"):  # other errors pass through unchanged
        with accel.out_of_memory_hint(est):
            raise ValueError("unrelated")
    assert is_out_of_memory(MemoryError()) and not is_out_of_memory(RuntimeError("RESOURCE_EXHAUSTED"))
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(12) == "12 B"


def test_stem_estimate_follows_the_memory_policy():
    from jaxem.parallel import estimate_stem
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, GridScan, STEMSimulation
    from jaxem.structure import crystals

    pot = potential(crystals.SrTiO3(), sampling=0.3, slice_thickness=1.9525)
    sim = STEMSimulation(300e3, 12.0, AnnularDetector(0.0, 12.0, "BF"))
    scan = GridScan.create((0, 0), (3.905, 3.905), gpts=(8, 8))
    small = estimate_stem(sim, scan, pot, memory_budget="100K")
    big = estimate_stem(sim, scan, pot, memory_budget="1G")
    assert dict(small.batches)["positions"] < dict(big.batches)["positions"] == 64
    assert small.budget == 100 * 1024 and small.peak < big.peak and "STEM scan 8 × 8" in big.report()
