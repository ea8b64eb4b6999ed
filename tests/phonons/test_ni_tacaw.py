"""Ni harmonic TACAW (CuNi.eam.alloy force constants, analytic harmonic trajectory, one-slice plane
wave): line positions at G + X and G + L and branch intensity ratios against the kinematic
one-phonon formula (reference note §1.2 item 4)."""
import math

import jax
import numpy as np
import pytest

from jaxem.grid import Grid
from jaxem.phonons import FrameKernel, harmonic_phonons, mode_projector, tacaw_spectrum
from jaxem.phonons import fte, modal
from jaxem.phonons.tacaw import H_MEV_FS
from jaxem.propagate import plane_wave
from jaxem.structure import Structure

from .conftest import needs_lammps

pytestmark = needs_lammps
A = 3.52
#: phonopy frequencies [THz] of CuNi.eam.alloy (Ni) at X and L, reference note §2.5 (4×4×4 supercell)
PHONOPY = {"TA(X)": 6.24, "LA(X)": 8.59, "TA(L)": 4.05, "LA(L)": 8.84}


@pytest.fixture(scope="module")
def ni_tacaw():
    """fcc Ni in the 2-atom tetragonal cell x ∥ [001], y ∥ [1-10], z ∥ [110] (beam along [110]: both X
    = (0,0,1) and L = (½,−½,½) [1/a] lie in the zero-order Laue zone), a 2×2×1 supercell (8 atoms,
    X and L commensurate, 2.49 Å thick: one slice), 200 kV plane wave; 128 frames every 10 fs of
    analytic harmonic trajectories at 300 K, averaged over designed phases (no sampling noise)."""
    jax.config.update("jax_enable_x64", True)
    r2 = math.sqrt(2.0)
    uc = Structure.create([[0, 0, 0], [A / 2, A / (2 * r2), A / (2 * r2)]], ["Ni", "Ni"], [A, A / r2, A / r2])
    h = harmonic_phonons(uc, (2, 2, 1), potential="Ni")
    p = fte.paired_projector(mode_projector(h, "float64"))
    s = h.supercell
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(24, 32))
    k = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    dt, n = 10.0, 128
    f = np.asarray(p.frequencies)
    phases = modal.designed_phases(f.shape, 2 * f.size + 1)
    spec = None
    for ph in phases:
        traj = modal.harmonic_trajectory(jax.random.PRNGKey(0), p, 300, n, dt, phases=ph)
        sp = tacaw_spectrum(k(traj), dt)
        spec = sp.intensity if spec is None else spec + sp.intensity
    return h, p, s, grid, sp.energy, np.asarray(spec) / len(phases)


def _pixel(grid, q):
    ky = np.fft.fftfreq(grid.gpts[0], grid.sampling[0])
    kx = np.fft.fftfreq(grid.gpts[1], grid.sampling[1])
    iy, ix = int(np.argmin(np.abs(ky - q[1]))), int(np.argmin(np.abs(kx - q[0])))
    assert abs(ky[iy] - q[1]) < 1e-9 and abs(kx[ix] - q[0]) < 1e-9
    return iy, ix


def _lines(p, s, q3):
    w = modal.one_phonon_weights(p, np.asarray(s.numbers), [q3], 300)[0]
    f = np.asarray(p.frequencies)
    out = {}
    for fq, ww in zip(f.ravel(), w.ravel()):
        if ww > 1e-9 * w.max():
            key = round(float(fq), 2)
            out[key] = out.get(key, 0.0) + float(ww)
    return out


def _peak(e, spec, f_thz, half=2):
    de = e[1] - e[0]
    target = f_thz * 1e-3 * H_MEV_FS  # E = h f, f [1/fs]
    sel = np.abs(e - target) <= (half + 0.5) * de
    i = np.flatnonzero(sel)[np.argmax(spec[sel])]
    return e[i], spec[sel].sum(), de


@pytest.mark.parametrize("name, q_inplane, branches", [
    ("X", (2 / A, math.sqrt(2) / A), ("TA(X)", "LA(X)")),   # G = (1,−1,1) + X = (0,0,1)
    ("L", (2.5 / A, 1 / (math.sqrt(2) * A)), ("TA(L)", "LA(L)")),  # G = (0,0,2) + L = (½,−½,½)
])
def test_peaks_and_branch_ratios(ni_tacaw, name, q_inplane, branches):
    h, p, s, grid, e, spec = ni_tacaw
    iy, ix = _pixel(grid, q_inplane)
    q3 = [q_inplane[0], q_inplane[1], 0.0]
    lines = _lines(p, s, q3)
    assert len(lines) == 2, lines  # one TA and one LA line at this transfer
    (f_ta, w_ta), (f_la, w_la) = sorted(lines.items())
    # the model's own frequencies are phonopy's for this potential (reference table, 0.05 THz)
    assert f_ta == pytest.approx(PHONOPY[branches[0]], abs=0.05)
    assert f_la == pytest.approx(PHONOPY[branches[1]], abs=0.05)
    px = spec[:, iy, ix]
    (e_ta, i_ta, de), (e_la, i_la, _) = _peak(e, px, f_ta), _peak(e, px, f_la)
    # loss-side peaks within one energy bin of the phonopy frequencies
    assert abs(e_ta - PHONOPY[branches[0]] * 1e-3 * H_MEV_FS) <= de
    assert abs(e_la - PHONOPY[branches[1]] * 1e-3 * H_MEV_FS) <= de
    # branch intensity ratio within 5 % of the kinematic one-phonon formula
    assert (i_la / i_ta) == pytest.approx(w_la / w_ta, rel=0.05)
    # gain side mirrors the loss side (classical spectrum, no quantum factor)
    (_, g_ta, _), = [_peak(-e[::-1], px[::-1], f_ta)]
    assert g_ta == pytest.approx(i_ta, rel=0.05)
