"""The CPU working-set cap (accel.CPU_WORKING_SET / cpu_working_set) and its callers in the propagation
and STEM paths: batches are capped on the CPU, independent of the free memory (no recompilation), an
explicit budget lifts the cap, and results do not depend on the batch."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Beam, Grid, accel
from jaxem.accel import memory as accel_memory
from jaxem.potential.projected import PotentialSlices
from jaxem.propagate import multislice, multislice_tilts, plane_wave
from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, stem_scan
from jaxem.stem import scanning
from jaxem.validate import InputError

cpu = pytest.mark.skipif(jax.default_backend() != "cpu", reason="the cap applies on the CPU backend")


def test_cpu_working_set_default_environment_and_off(monkeypatch):
    monkeypatch.delenv("JAXEM_CPU_WORKING_SET", raising=False)
    assert accel.cpu_working_set() == accel.CPU_WORKING_SET == 16 * 2**20
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", "48M")
    assert accel.cpu_working_set() == 48 * 2**20
    for off in ("off", "None", " OFF "):
        monkeypatch.setenv("JAXEM_CPU_WORKING_SET", off)
        assert accel.cpu_working_set() is None
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", "lots")
    with pytest.raises(InputError, match="JAXEM_CPU_WORKING_SET"):
        accel.cpu_working_set()


@cpu
def test_cap_makes_the_batch_independent_of_free_memory(monkeypatch):
    per, n = 5 * 2**20, 1000
    sizes = set()
    for free in (2**31, 2**34, 2**37):
        monkeypatch.setattr(accel_memory, "available_memory", lambda device=None, f=free: f)
        sizes.add(accel.batch_size(per, n, cpu_cap=accel.cpu_working_set()))
        assert accel.batch_size(per, n) == min(n, free // 4 // per)  # uncapped: follows the free memory
    assert sizes == {accel.CPU_WORKING_SET // per}
    assert accel.batch_size(per, n, memory_budget=2**34, cpu_cap=accel.cpu_working_set()) == n  # explicit lifts it


def _scan_setup(detector):
    grid = Grid((64, 64), (0.1, 0.1))
    rng = np.random.default_rng(0)
    pot = PotentialSlices(jnp.asarray(rng.uniform(0, 60, (2, 64, 64)), jnp.float32), (0, 1, 0, 1), 1.9, grid)
    sim = STEMSimulation(Beam(200e3), 20.0, (detector,))
    return sim, GridScan.create((0.5, 0.5), (3.3, 3.3), gpts=(5, 4)), pot


@cpu
@pytest.mark.parametrize("detector", [AnnularDetector(30.0, 90.0, "ADF"), PixelatedDetector(40.0)])
def test_stem_scan_batches_capped_fixed_and_results_unchanged(monkeypatch, detector):
    sim, scan, pot = _scan_setup(detector)
    name = detector.name
    per_position = scanning._WAVE_COPIES * 64 * 64 * 8
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", str(3 * per_position))
    batches = set()
    for free in (2**32, 2**36):
        monkeypatch.setattr(accel_memory, "available_memory", lambda device=None, f=free: f)
        batches.add(scanning.scan_batches(per_position, 4 * 81 * 81, scan, None))
    assert len(batches) == 1 and next(iter(batches))[0] == 3
    capped = stem_scan(sim, scan, pot, progress=False, method="multislice")[name].array
    n_compiled = scanning._scan_static._cache_size()
    monkeypatch.setattr(accel_memory, "available_memory", lambda device=None: 2**32)
    again = stem_scan(sim, scan, pot, progress=False, method="multislice")[name].array
    assert scanning._scan_static._cache_size() == n_compiled  # same shapes: no recompilation
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", "off")  # the old batch: every position at once
    whole = stem_scan(sim, scan, pot, progress=False, method="multislice")[name].array
    np.testing.assert_allclose(capped, again, rtol=0, atol=0)
    np.testing.assert_allclose(capped, whole, rtol=1e-5, atol=1e-7)
    assert float(np.max(np.asarray(capped))) > 1e-4  # a signal, not zeros


@cpu
def test_multislice_and_tilts_batches_capped(monkeypatch):
    grid = Grid((64, 64), (0.1, 0.1))
    rng = np.random.default_rng(1)
    pot = PotentialSlices(jnp.asarray(rng.uniform(0, 60, (2, 64, 64)), jnp.float32), (0, 1, 1), 1.9, grid)
    beam = Beam(200e3)
    wave = plane_wave(grid, beam)
    waves = wave.replace(array=jnp.stack([wave.array * jnp.exp(1j * p) for p in np.linspace(0, 1, 7)]))
    item = 64 * 64 * 8 * 7
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", str(2 * item))
    seen = []
    real = accel.batch_size

    def spy(*a, **k):
        out = real(*a, **k)
        seen.append(out)
        return out

    monkeypatch.setattr(accel, "batch_size", spy)
    capped = multislice(waves, pot).array
    assert seen[-1] == 2
    tilts = jnp.asarray([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    t_capped = multislice_tilts(pot, beam, tilts)
    assert seen[-1] == 2
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", "off")
    whole = multislice(waves, pot).array
    assert seen[-1] == 7
    np.testing.assert_allclose(capped, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t_capped, multislice_tilts(pot, beam, tilts), rtol=1e-5, atol=1e-6)


@cpu
def test_potential_slice_batch_and_hrtem_focal_nodes_capped(monkeypatch):
    from jaxem.optics import Aberrations
    from jaxem.optics.imaging import hrtem_image
    from jaxem.potential import potential_layout
    from jaxem.structure import crystals

    sto = crystals.SrTiO3().repeat(2, 2, 1)
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", "1M")  # about two 96² slices
    layouts = set()
    for free in (2**23, 2**37):  # uncapped, these budgets (a quarter of it) give different batches
        monkeypatch.setattr(accel_memory, "available_memory", lambda device=None, f=free: f)
        layouts.add(potential_layout(sto, gpts=(96, 96), slice_thickness=3.905 / 8).batch)
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", "off")
    uncapped = potential_layout(sto, gpts=(96, 96), slice_thickness=3.905 / 8).batch
    assert len(layouts) == 1 and uncapped > next(iter(layouts))
    grid = Grid((64, 64), (0.1, 0.1))
    wave = plane_wave(grid, Beam(300e3))
    wave = wave.replace(array=jnp.exp(0.4j * jnp.asarray(np.random.default_rng(2).standard_normal((64, 64)),
                                                          jnp.float32)).astype(jnp.complex64))
    kw = dict(aberrations=Aberrations(C10=-40.0), focal_spread=30.0, objective_aperture=25.0, n_focal=6)
    monkeypatch.setattr(accel_memory, "available_memory", lambda device=None: 2**34)
    whole = np.asarray(hrtem_image(wave, **kw).array)
    monkeypatch.setenv("JAXEM_CPU_WORKING_SET", str(2 * 4 * 64 * 64 * 8))  # two focal nodes per batch
    capped = np.asarray(hrtem_image(wave, **kw).array)
    np.testing.assert_allclose(capped, whole, rtol=1e-5, atol=1e-7)
    assert whole.std() > 1e-3  # contrast, not a flat image
