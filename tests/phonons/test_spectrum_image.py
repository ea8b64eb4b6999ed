"""Vibrational STEM spectrum images (jaxem.phonons.tacaw_spectrum_image): Parseval per probe position
against jaxem.propagate's frozen-phonon path, probe chunks, the collection aperture, bad input."""
import numpy as np
import pytest

from jaxem import Grid
from jaxem.optics import probe
from jaxem.phonons import collection_mask, tacaw_spectrum_image
from jaxem.propagate import frozen_phonon_multislice, waves_from_array
from jaxem.stem import GridScan
from jaxem.structure import Structure
from jaxem.validate import InputError

A = 3.905


def srtio3():
    return Structure.create([[0, 0, 0], [A / 2, A / 2, A / 2], [A / 2, A / 2, 0], [A / 2, 0, A / 2], [0, A / 2, A / 2]],
                            ["Sr", "Ti", "O", "O", "O"], [A, A, A]).repeat(2, 2, 1)


def grid_pixels(s):
    g = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), sampling=0.2)
    return g.gpts[0] * g.gpts[1]


@pytest.fixture(scope="module")
def case():
    s = srtio3()
    rng = np.random.default_rng(3)
    # a smooth random "trajectory": low-pass noise per coordinate (unwrapped, small steps)
    n = 16
    u = np.cumsum(rng.normal(0, 0.02, (n, len(s), 3)), axis=0)
    frames = np.asarray(s.positions)[None] + u - u.mean(0)
    scan = GridScan.create(start=(A / 2, 0.0), end=(A / 2 + 0.1, A), gpts=(1, 3))
    kw = dict(energy=300e3, semi_angle=20.0, collection_radius=25.0, sampling=0.2, slice_thickness=A / 2,
              precision="float64", progress=False)
    return s, frames, scan, kw


def test_parseval_per_position_equals_frozen_phonon_tds(case):
    """Without a window, Σ_E S(r_p, E) is the frozen-phonon TDS of the same snapshots inside the aperture,
    probe by probe (the frozen-phonon path of jaxem.propagate, one probe at a time)."""
    s, frames, scan, kw = case
    m = tacaw_spectrum_image(s, frames, 5.0, scan, window_name="none", **kw)
    assert [a.name for a in m.axes] == ["scan_y", "scan_x", "E"] and m.array.shape == (1, 3, 16)
    assert m.axes[2].units == "meV" and m.metadata["quantity"].startswith("TACAW")
    grid = Grid.from_extent((2 * A, 2 * A), sampling=0.2)
    mask = collection_mask(grid, 300e3, 25.0)
    pos = scan.positions().reshape(-1, 2)
    for p in range(3):
        w = waves_from_array(probe(grid, 300e3, 20.0, positions=pos[p], precision="float64"), grid, 300e3, norm=1.0)
        ref = frozen_phonon_multislice(None, s, w, snapshots=frames, slice_thickness=A / 2)
        tds = float(np.sum(np.asarray(ref.tds_diffraction)[mask]))
        assert tds > 1e-5
        assert float(m.array[0, p].sum()) == pytest.approx(tds, rel=1e-9)
    # positions differ (the probe sees different columns): the map is not flat
    tot = m.array[0].sum(-1)
    assert np.ptp(tot) > 0.05 * tot.mean()


def test_probe_chunks_and_quantum_factor(case):
    s, frames, scan, kw = case
    one = tacaw_spectrum_image(s, frames, 5.0, scan, **kw)
    n_q = int(collection_mask(Grid.from_extent((2 * A, 2 * A), sampling=0.2), 300e3, 25.0).sum())
    per_probe = 16 * (grid_pixels(s) + 3 * len(frames) * n_q)  # complex128: incident wave + Ψ(t, q) work
    chunked = tacaw_spectrum_image(s, frames, 5.0, scan, memory_budget=per_probe, **kw)  # one probe per chunk
    np.testing.assert_allclose(chunked.array, one.array, rtol=1e-12, atol=1e-18)
    chunked = tacaw_spectrum_image(s, frames, 5.0, scan, memory_budget=2 * per_probe, **kw)  # 2 + 1 (padded)
    with pytest.raises(InputError, match="memory budget"):
        tacaw_spectrum_image(s, frames, 5.0, scan, memory_budget=per_probe - 1, **kw)
    np.testing.assert_allclose(chunked.array, one.array, rtol=1e-12, atol=1e-18)
    q = tacaw_spectrum_image(s, frames, 5.0, scan, temperature=300.0, **kw)
    e = np.asarray(q.axes[2].sampling * np.arange(16) + q.axes[2].offset)
    p = (e / (0.0861733 * 300.0)) / (1 - np.exp(-e / (0.0861733 * 300.0)))
    p[np.abs(e) < 1e-12] = 1.0
    np.testing.assert_allclose(q.array, one.array * p, rtol=1e-4)
    assert q.metadata["quantum_factor"] is True


def test_collection_mask_geometry():
    """The mask is the disk |θ − θ_c| ≤ r in mrad, θ = 1e3·λ·q (λ(200 kV) = 0.025079 Å, NIST)."""
    grid = Grid.from_extent((20.0, 20.0), gpts=(200, 200))
    m = collection_mask(grid, 200e3, 10.0, center=(0.0, 20.0))
    ky, kx = np.meshgrid(*(np.fft.fftfreq(200, 0.1),) * 2, indexing="ij")
    lam = 0.0250793
    ty, tx = 1e3 * lam * ky, 1e3 * lam * kx
    d2 = ty ** 2 + (tx - 20.0) ** 2
    assert np.all(m[d2 < 100.0 - 0.01]) and not np.any(m[d2 > 100.0 + 0.01])
    step = 1e3 * lam / 20.0  # angular step [mrad]
    assert m.sum() == pytest.approx(np.pi * 10.0 ** 2 / step ** 2, rel=0.03)
    assert m[0, int(round(20.0 / step))] and not m[0, 0]


def test_bad_input(case):
    s, frames, scan, kw = case
    with pytest.raises(InputError, match="collection_radius"):
        tacaw_spectrum_image(s, frames, 5.0, scan, **{**kw, "collection_radius": 500.0})
    with pytest.raises(InputError, match="collection_radius"):
        collection_mask(Grid.from_extent((4.0, 4.0), gpts=(40, 40)), 300e3, 0.5, center=(1.0, 1.0))
    with pytest.raises(InputError, match="scan"):
        tacaw_spectrum_image(s, frames, 5.0, GridScan.create(end=(20.0, 20.0), gpts=(2, 2)), **kw)
    with pytest.raises(InputError, match="frames"):
        tacaw_spectrum_image(s, frames[:3], 5.0, scan, **kw)
    wrapped = frames.copy()
    wrapped[5:, 0, 0] += 2 * A  # an atom jumps a whole cell: wrapped coordinates
    with pytest.raises(InputError, match="unwrapped|wrapped"):
        tacaw_spectrum_image(s, wrapped, 5.0, scan, **kw)
    with pytest.raises(InputError, match="time_step"):
        tacaw_spectrum_image(s, frames, -1.0, scan, **kw)
