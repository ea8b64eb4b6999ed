"""Synthetic q–E maps with a known truth: the Al bulk plasmon (Drude) and thin-film surface modes.

The single-scattering intensity at (q, E) is the loss function times the kinematic factor,
s(q, E) ∝ K(q, E)·L(q, E) with K = 1/(q² + q_E²) (point aperture; :mod:`jaxem.eels.model`), so the
pre-processing of :mod:`jaxem.eels.loss` inverts exactly what is simulated here. Optionally a Gaussian
zero-loss peak z (area I₀, FWHM δE) is added together with plural scattering from Poisson statistics:
j = z ⊛ [δ + s/I₀ + (s/I₀)^{⊛2}/2! + …] = F⁻¹{Z·exp(S/I₀)} (Egerton §4.1), evaluated on a grid padded
4× beyond the map so that nothing wraps around. Counts are Poisson-distributed at the chosen dose
(``counts_per_peak``: expected single-scattering plasmon counts per q row) or noise-free expectations.

Al defaults (Raether 1980; *Int. Tables Cryst.* C, Tables 4.3.4.3–4): E_p(0) = 15.0 eV, α = 0.40,
Γ = 0.53 eV. Above an optional cut-off q_c the width rises (Landau damping) as
Γ(q) = Γ + ΔΓ·(1 − exp(−(q − q_c)/0.05 Å⁻¹)).
"""
from __future__ import annotations

import numpy as np

from .. import noise, validate
from ..beam import as_beam
from ..measurement import Axis
from .maps import qe_map
from .model import bulk_dispersion, characteristic_momentum, drude_loss, film_branches, kinematic_factor

__all__ = ["drude_map", "film_map", "synthetic_map", "AL"]

#: Al bulk plasmon parameters [eV, –, eV]
AL = {"plasmon_energy": 15.0, "alpha": 0.40, "gamma": 0.53}


def _values(axis, name, units):
    if isinstance(axis, Axis):
        raise validate.InputTypeError(f"{name} must be coordinates [{units}] (a 1-D array), got an Axis")
    v = np.asarray(validate.array(axis, name, ndim=1, kind="real", min_size=2), float)
    return v


#: largest relative thickness t/λ a synthetic map accepts (e^(−20) = 2e-9 of the beam left in the ZLP)
MAX_T_OVER_LAMBDA = 20.0


def synthetic_map(q, energy, loss, *, beam=None, counts_per_peak=None, row_max: float = 1.0, zlp_counts=None,
                  zlp_fwhm: float = 0.3, seed=0, metadata=None):
    """A q–E map (Measurement, counts) from a loss function ``loss`` (n_q, n_E) on ``q`` [1/Å] × ``energy``
    [eV] (see the module docstring).

    Args:
        beam: a Beam or an energy; with it s = K(q, E)·L with K = 1/(q² + q_E²); without it s = L.
        counts_per_peak: expected single-scattering counts per q row (each row scaled to it); ``None``:
            rows keep the physical q-dependence K·L, scaled so that the largest row holds ``row_max`` counts.
        zlp_counts: counts I₀ in the zero-loss peak of each row (adds the ZLP and plural scattering;
            the energy axis must then extend below 0); ``None``: single scattering only.
        zlp_fwhm: FWHM of the Gaussian zero-loss peak [eV].
        seed: Poisson noise seed (``None``: noise-free expectations).
    """
    q = _values(q, "q", "1/Å")
    E = _values(energy, "energy", "eV")
    L = np.asarray(validate.array(loss, "loss", shape=(q.size, E.size), kind="real"), float)
    if beam is None:   # no beam: the single scattering is the loss function itself
        s = np.where(E[None, :] > 0, L, 0.0)
    else:
        qe = characteristic_momentum(E, as_beam(beam))
        with np.errstate(divide="ignore", invalid="ignore"):     # q = E = 0 is excluded below
            s = np.where(E[None, :] > 0, kinematic_factor(q[:, None], qe[None, :]) * L, 0.0)
    rows = s.sum(-1, keepdims=True)
    if counts_per_peak is not None:
        cpp = validate.scalar(counts_per_peak, "counts_per_peak", "counts", positive=True)
        s = s * cpp / np.where(rows > 0, rows, 1.0)
    else:
        row_max = validate.scalar(row_max, "row_max", "counts", positive=True)
        if not rows.max() > 0:
            raise validate.InputError(f"loss has no positive single scattering at energy > 0 eV (largest row sum "
                                      f"{rows.max():g}); row_max cannot scale it to counts")
        s = s * row_max / rows.max()
    j = s
    if zlp_counts is not None:
        i0 = validate.scalar(zlp_counts, "zlp_counts", "counts", positive=True)
        fw = validate.scalar(zlp_fwhm, "zlp_fwhm", "eV", positive=True)
        dE = E[1] - E[0]
        t_mfp = float(s.sum(-1).max()) / i0        # t/λ = (single-scattering counts)/I₀ of the worst row
        if t_mfp > MAX_T_OVER_LAMBDA:
            raise validate.InputError(
                f"counts_per_peak/zlp_counts: the rows have t/λ = {t_mfp:.4g} (single-scattering counts / ZLP counts), "
                f"more than {MAX_T_OVER_LAMBDA:g}: the zero-loss peak would hold e^(−t/λ) = {np.exp(-t_mfp):.3g} of the "
                f"beam and the plural-scattering series e^(t/λ) overflows; EELS specimens have t/λ ≲ 5")
        if E[0] > -2 * fw:
            raise validate.InputError(f"energy must start below −2·zlp_fwhm = {-2 * fw:g} eV to hold the zero-loss "
                                      f"peak, got {E[0]:g} eV")
        n = E.size
        N = 4 * n
        Ep = E[0] + dE * np.arange(N)                                  # padded axis
        sig = fw / (2 * np.sqrt(2 * np.log(2)))
        z = np.exp(-0.5 * (Ep / sig) ** 2)
        z *= i0 / z.sum()
        # single-scattering kernel: loss m·dE at index m (shift by the axis origin)
        i_zero = -E[0] / dE
        kern = np.zeros((q.size, N))
        m0 = int(np.ceil(i_zero - 1e-9))
        loss_idx = np.arange(m0, n) - i_zero                           # losses ≥ 0 in channels
        kern[:, np.round(loss_idx).astype(int)] = s[:, m0:] / i0
        Z, K = np.fft.rfft(z), np.fft.rfft(kern, axis=-1)
        j = np.fft.irfft(Z[None, :] * np.exp(K), N, axis=-1)[:, :n]
        j = np.maximum(j, 0.0)
    if seed is not None:
        rng = np.random.default_rng(validate.integer(seed, "seed", lo=0))
        j = noise.poisson_numpy(rng, j, "expected counts (loss scaled by counts_per_peak/row_max/zlp_counts)")
    md = {"title": "synthetic q–E map", "synthetic": True, **(metadata or {})}
    return qe_map(j, (q, "1/Å"), (E, "eV"), beam=beam, metadata=md)


def drude_map(q, energy, *, plasmon_energy: float = AL["plasmon_energy"], alpha: float = AL["alpha"],
              gamma: float = AL["gamma"], cutoff=None, gamma_rise: float = 2.0, **kwargs):
    """Synthetic bulk-plasmon map: Drude loss with E_p(q) = E_p(0) + α(ħ²/m)q² and width Γ(q) (rising
    above ``cutoff`` q_c [1/Å] by ``gamma_rise`` [eV]); keyword arguments as :func:`synthetic_map`.

    Returns:
        (map, truth): the Measurement and ``{"q", "plasmon_energy", "gamma", "loss"}`` arrays (per q).
    """
    q = _values(q, "q", "1/Å")
    E = _values(energy, "energy", "eV")
    Ep0 = validate.scalar(plasmon_energy, "plasmon_energy", "eV", positive=True)
    a = validate.scalar(alpha, "alpha")
    G = validate.scalar(gamma, "gamma", "eV", positive=True)
    Eq = bulk_dispersion(q, Ep0, a)
    Gq = np.full_like(q, G)
    if cutoff is not None:
        qc = validate.scalar(cutoff, "cutoff", "1/Å", positive=True)
        Gq = Gq + validate.scalar(gamma_rise, "gamma_rise", "eV", nonnegative=True) * np.where(
            q > qc, 1 - np.exp(-(q - qc) / 0.05), 0.0)
    L = np.where(E[None] > 0, drude_loss(E[None], Eq[:, None], Gq[:, None]), 0.0)
    md = {"truth": {"plasmon_energy": Ep0, "alpha": a, "gamma": G, "cutoff": cutoff}}
    m = synthetic_map(q, E, L, metadata=md, **kwargs)
    return m, {"q": q, "plasmon_energy": Eq, "gamma": Gq, "loss": L}


def film_map(q, energy, *, plasmon_energy: float = AL["plasmon_energy"], thickness: float = 50.0,
             gamma: float = AL["gamma"], **kwargs):
    """Synthetic thin-film map: two Drude peaks of equal strength at the coupled surface modes
    E±(q) = (E_p/√2)√(1 ± e^{−qd}) of a film of ``thickness`` d [Å] (5 nm default).

    Returns:
        (map, truth) with ``{"q", "upper", "lower", "loss"}``.
    """
    q = _values(q, "q", "1/Å")
    E = _values(energy, "energy", "eV")
    Ep = validate.scalar(plasmon_energy, "plasmon_energy", "eV", positive=True)
    d = validate.scalar(thickness, "thickness", "Å", positive=True)
    G = validate.scalar(gamma, "gamma", "eV", positive=True)
    up, lo = film_branches(q, Ep, d)
    Ee = E[None]
    L = np.where(Ee > 0, drude_loss(Ee, up[:, None], G) * G / up[:, None]
                 + drude_loss(Ee, lo[:, None], G) * G / lo[:, None], 0.0)
    md = {"truth": {"plasmon_energy": Ep, "thickness": d, "gamma": G}}
    m = synthetic_map(q, E, L, metadata=md, **kwargs)
    return m, {"q": q, "upper": up, "lower": lo, "loss": L}
