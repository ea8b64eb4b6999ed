"""Mode-resolved motion and diffraction (jaxem.phonons.modal): band-limited harmonic ensembles,
mode-set partitions, branch additivity of the one-phonon TDS (3C-SiC, Vashishta)."""
import jax
import numpy as np
import pytest

from jaxem.grid import Grid
from jaxem.phonons import fte, harmonic_snapshots, mode_projector
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


def _kk(g):
    return np.hypot(*np.meshgrid(np.fft.fftfreq(g.gpts[0], g.sampling[0]), np.fft.fftfreq(g.gpts[1], g.sampling[1]),
                                 indexing="ij"))


def test_branch_one_phonon_additivity(sic1):
    """Σ_ν one-phonon TDS of each branch taken inside the full ensemble (branch_parity_split) = the one-phonon
    TDS ⟨|ψ_odd|²⟩ of the full ensemble, over the whole pattern (thin: one 4.36 Å slice, 200 kV, 300 K
    quantum amplitudes). Designed-phase ensemble: the second-order identity is exact, the remainder is the
    ensemble's non-Gaussian fourth order (measured −0.53 % over the pattern, ≤ 3.8 % on any pixel above
    5 % of the maximum, ≤ 1.6 % for |Q| < 1.2 1/Å). The two-member form keeps the cross-branch two-phonon
    term: +3.8 % over the pattern — what the four-member form removes."""
    _, p, k = sic1
    X = modal.designed_snapshots(p, 300)
    sets = {f"branch {kb}": m for kb, m in modal.branch_sets(p).items() if kb.startswith("branch")}
    r = modal.branch_parity_split(k, p, X, sets)
    full = np.asarray(r.full.one_phonon)
    ref = np.asarray(p.positions)
    np.testing.assert_allclose(full, np.asarray(parity_split(k, X, ref).one_phonon), rtol=1e-12, atol=0)
    acc = sum(np.asarray(v) for v in r.one_phonon.values())
    assert acc.sum() == pytest.approx(full.sum(), rel=0.01)  # acceptance: 3 %
    bright = full > 0.05 * full.max()
    assert bright.sum() >= 100
    rel = np.abs(acc - full)[bright] / full[bright]
    assert rel.max() < 0.05
    assert rel[(_kk(k.grid) < 1.2)[bright]].max() < 0.02
    two = sum(np.asarray(v) for v in modal.branch_parity_split(k, p, X, sets, even_rest=False).one_phonon.values())
    assert two.sum() > 1.025 * full.sum()  # the cross-branch two-phonon term of the two-member form
    # one set holding every mode is the full parity split; a static crystal has no one-phonon part
    every = modal.branch_parity_split(k, p, X, {"all": np.ones(p.frequencies.shape, bool)})
    np.testing.assert_allclose(np.asarray(every.one_phonon["all"]), full, rtol=1e-9, atol=1e-12 * full.max())
    static = modal.branch_parity_split(k, p, np.broadcast_to(ref, (2,) + ref.shape), sets)
    assert all(float(np.max(v)) == 0.0 for v in static.one_phonon.values())


def test_branch_one_phonon_matches_the_formula(sic1):
    """Each branch group's one-phonon TDS inside the full ensemble against the kinematic one-phonon formula
    (one_phonon_weights, with the ensemble's own Debye–Waller B per species; classical amplitudes k_BT/ω²,
    designed ensemble at 300 K). Thin single slice: the formula applies. Branch fractions at every pixel
    above 5 % of the maximum within 1 % (measured ≤ 0.5 %); absolute intensities, normalised once by the
    elastic Bragg intensities |⟨ψ⟩|²/|F(G)|² of the same run (same f_j e^{−W_j}), within 3 % for
    |Q| < 1.2 1/Å (measured ≤ 2.0 %)."""
    from jaxem.potential.tds import elastic_form_factor

    h, p0, k = sic1
    p = fte.paired_projector(p0)
    bs = modal.branch_sets(p)
    sets = {"TA": bs["branch 0"] | bs["branch 1"], "LA": bs["branch 2"], "optic": bs["optic"]}
    X = np.asarray(modal.designed_snapshots(p, 300, quantum=False))
    r = modal.branch_parity_split(k, p, X, sets)
    ref = np.asarray(p.positions)
    z = np.asarray(h.supercell.numbers)
    msd = np.mean((X - ref) ** 2, axis=(0, 2))
    B = {int(zz): float(8 * np.pi ** 2 * msd[z == zz].mean()) for zz in np.unique(z)}
    g = k.grid
    qy, qx = np.meshgrid(np.fft.fftfreq(g.gpts[0], g.sampling[0]), np.fft.fftfreq(g.gpts[1], g.sampling[1]),
                         indexing="ij")
    q3 = np.stack([qx.ravel(), qy.ravel(), np.zeros(qx.size)], 1)
    w = modal.one_phonon_weights(p, z, q3, 300, b_factors=B)
    w_set = {n: (w * m[None]).sum((1, 2)).reshape(qx.shape) for n, m in sets.items()}
    w_tot = sum(w_set.values())
    full = np.asarray(r.full.one_phonon)
    tot = sum(np.asarray(v) for v in r.one_phonon.values())
    bright = full > 0.05 * full.max()
    for n in sets:
        frac = np.asarray(r.one_phonon[n])[bright] / tot[bright]
        assert np.max(np.abs(frac - w_set[n][bright] / w_tot[bright])) < 0.01, n
    fj = lambda kq: np.stack([elastic_form_factor(int(zz), B[int(zz)], kq) for zz in z], 1)  # noqa: E731
    f_el = np.abs((fj(np.linalg.norm(q3, axis=1)) * np.exp(-2j * np.pi * q3 @ ref.T)).sum(1)) ** 2
    el = np.asarray(r.full.elastic).ravel()
    bragg = (el > 1e-4 * el.max()) & (np.linalg.norm(q3, axis=1) > 0)
    scale = np.median(el[bragg] / f_el[bragg])
    inner = bright & (_kk(g) < 1.2)
    assert inner.sum() >= 40
    np.testing.assert_allclose(tot[inner], scale * w_tot[inner], rtol=0.03)


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
