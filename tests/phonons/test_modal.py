"""Mode-resolved motion and diffraction (jaxem.phonons.modal): band-limited harmonic ensembles,
mode-set partitions, branch additivity of the one-phonon TDS (3C-SiC, Vashishta)."""
import jax
import numpy as np
import pytest

from jaxem.grid import Grid
from jaxem.phonons import harmonic_snapshots, mode_projector
from jaxem.phonons import modal
from jaxem.phonons.frfpms import parity_split
from jaxem.phonons.frames import FrameKernel
from jaxem.propagate import plane_wave
from jaxem.validate import InputError

from .conftest import cubic, needs_lammps

pytestmark = needs_lammps


@pytest.fixture(scope="module")
def sic1():
    """3C-SiC Vashishta, one conventional cell (8 atoms; q-points Γ and the three X) and a thin kernel."""
    from jaxem.phonons import harmonic_phonons

    jax.config.update("jax_enable_x64", True)
    h = harmonic_phonons(cubic("SiC-3C", 4.3582), (1, 1, 1), potential="SiC", primitive="F")
    p = mode_projector(h, "float64")
    s = h.supercell
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(24, 24))
    k = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    return h, p, k


def _edges(p, n):
    return np.linspace(0.0, float(np.max(p.frequencies)) * 1.0001, n + 1)


def test_band_masks_partition(sic1):
    h, p, _ = sic1
    masks = modal.band_masks(p, _edges(p, 5))
    live = np.abs(np.asarray(p.frequencies)) >= 1e-3
    assert np.array_equal(masks.sum(0), live.astype(int))  # every vibrational mode in exactly one bin
    assert int(masks[:, 0, :3].sum()) == 0  # the Γ translations in none


def test_band_limited_msd_and_no_energy_outside(sic1):
    h, p, _ = sic1
    masks = modal.band_masks(p, _edges(p, 4))
    exact = np.asarray(h.mean_square_displacements(300, True, qpoints=h.commensurate_qpoints()))  # (2, 3)
    prim = h.primitive_index()
    ref = np.asarray(p.positions)
    total = 0.0
    assert masks.any((1, 2)).sum() >= 3
    for i, m in enumerate(masks):
        if not m.any():
            continue
        pos = harmonic_snapshots(jax.random.PRNGKey(20 + i), p, 300, 2048, quantum=True, modes=m, precision="float64")
        u = np.asarray(pos) - ref
        total = total + np.mean(u ** 2, 0)
        Q = np.asarray(p.project(u))
        e_in = np.sum(np.abs(Q[:, m]) ** 2 * np.asarray(p.omega)[m] ** 2)
        e_out = np.sum(np.abs(Q[:, ~m]) ** 2 * np.asarray(p.omega)[~m] ** 2)
        assert e_out < 1e-12 * e_in, (i, e_out / e_in)
    for b in range(2):  # per primitive atom, mean over its sites and directions: sampled, within 2 %
        got = total[prim == b].mean()
        assert got == pytest.approx(exact[b].mean(), rel=0.02)
    # the noise-free (designed-phase) ensembles add up to the exact ⟨u²⟩ to round-off
    tot = sum(np.mean((np.asarray(modal.designed_snapshots(p, 300, modes=m)) - ref) ** 2, 0) for m in masks)
    for b in range(2):
        np.testing.assert_allclose(tot[prim == b], np.broadcast_to(exact[b], tot[prim == b].shape), rtol=1e-9)


def test_mode_filter_partition_is_exact(sic1):
    _, p, _ = sic1
    u = np.asarray(harmonic_snapshots(jax.random.PRNGKey(3), p, 300, 64, precision="float64")) - np.asarray(p.positions)
    sets = modal.branch_sets(p)
    parts = sum(np.asarray(modal.mode_filter(p, u, sets[f"branch {k}"])) for k in range(6))
    np.testing.assert_allclose(parts, u, atol=1e-12)
    ao = np.asarray(modal.mode_filter(p, u, sets["acoustic"])) + np.asarray(modal.mode_filter(p, u, sets["optic"]))
    np.testing.assert_allclose(ao, u, atol=1e-12)
    # a (q, ν) cell at X holds only that cell's motion
    cell = modal.cell_set(p, [0.5, 0.0, 0.5], [3, 4])
    uc = np.asarray(modal.mode_filter(p, u, cell))
    Q = np.asarray(p.project(uc))
    assert np.max(np.abs(Q[:, ~cell])) < 1e-12 * np.max(np.abs(Q))


def test_branch_one_phonon_additivity(sic1):
    """Σ_ν one-phonon TDS of branch-ν ensembles = one-phonon TDS of the full ensemble (thin, 200 kV,
    300 K quantum). The designed-phase ensembles remove sampling noise; what is left is physics: the
    branch ensembles lack the other branches' Debye–Waller damping, so the sum runs high by
    ≈ 2W(Q) − 2W_ν(Q); within |Q| < 0.8 1/Å (2W < 3 %) it agrees within 3 %."""
    _, p, k = sic1
    ref = np.asarray(p.positions)
    full = parity_split(k, modal.designed_snapshots(p, 300), ref).one_phonon
    acc = 0.0
    for kb in range(6):
        acc = acc + parity_split(k, modal.designed_snapshots(p, 300, modes=modal.branch_sets(p)[f"branch {kb}"]),
                                 ref).one_phonon
    a, b = np.asarray(acc), np.asarray(full)
    g = k.grid
    kk = np.hypot(*np.meshgrid(np.fft.fftfreq(g.gpts[0], g.sampling[0]), np.fft.fftfreq(g.gpts[1], g.sampling[1]),
                               indexing="ij"))
    bright = b > 0.05 * b.max()
    inner = bright & (kk < 0.8)
    assert inner.sum() >= 20
    assert np.max(np.abs(a - b)[inner] / b[inner]) < 0.03
    assert a[bright].sum() > b[bright].sum()  # the DW deficit of branch ensembles, not noise


def test_one_phonon_weights_selection_rule(sic1):
    """Kinematic one-phonon weights: at Q = G (q = Γ) only Γ modes contribute; the acoustic Γ modes
    (uniform translations, A = 0) carry nothing; a transverse X mode is invisible at Q ∥ its q."""
    h, p, _ = sic1
    a = float(h.supercell.lengths[0])
    w = modal.one_phonon_weights(p, np.asarray(h.supercell.numbers), [[2 / a, 0, 0], [3 / a, 0, 0]], 300)
    assert np.all(w[0, 1:] < 1e-12 * w[0].max())  # Q = (200): Γ only
    qi = int(np.argmin(np.abs(np.asarray(p.qpoints) - [0.5, 0.0, 0.5]).sum(1)))  # X along x (conventional)
    f = np.asarray(p.frequencies)
    # at Q = (300) = G + X_x, only longitudinal modes (polarisation ∥ x) are seen
    x_modes = np.flatnonzero(w[1].sum(1) > 1e-9 * w[1].max())
    assert len(x_modes) == 1
    seen = w[1, x_modes[0]] > 1e-9 * w[1].max()
    assert seen.sum() == 2 and np.allclose(sorted(f[x_modes[0]][seen]), [17.08, 29.17], atol=0.02)
    del qi


def test_bad_inputs(sic1):
    _, p, k = sic1
    with pytest.raises(InputError, match="edges"):
        modal.band_masks(p, [3.0, 1.0])
    with pytest.raises(InputError, match="q = .*not a commensurate"):
        modal.cell_set(p, [0.1, 0.0, 0.0], [0])
    with pytest.raises(InputError, match="n_members"):
        modal.designed_phases((4, 6), 10)
    with pytest.raises(InputError, match="transfers"):
        modal.one_phonon_weights(p, [6] * 8, [[1.0, 2.0]], 300)
