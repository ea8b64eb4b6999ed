"""Dispersion laws fitted to per-q peak energies: bulk plasmon, thin-film branches, the cut-off q_c.

* :func:`fit_dispersion` — E_p(q) = E_p(0) + α(ħ²/m)q² below a cut-off, by weighted least squares with
  the per-q Cramér–Rao σ of :func:`~jaxem.eels.peaks.fit_peaks` as weights (a linear model: closed-form
  estimate and covariance (XᵀWX)⁻¹; the reduced χ² says whether the σ describe the scatter).
* :func:`fit_film` — the coupled surface modes E±(q) = (E_p/√2)√(1 ± e^{−qd}) of a free-standing film:
  (E_p, d) by Gauss–Newton on both branches at once, covariance from the Jacobian.
* :func:`width_onset` — the cut-off q_c where the plasmon enters the electron–hole continuum, measured
  as the step in the fitted width Γ(q) (Landau damping): the split that best separates Γ into a low and a
  high level (weighted least squares over every split); :func:`~jaxem.eels.model.continuum_cutoff`
  gives the free-electron estimate from k_F.

Units: q [1/Å], energies [eV], d [Å]. Results are plain frozen dataclasses with ``to_dict``.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import validate
from .model import HBAR2_OVER_M, film_branches, group_velocity

__all__ = ["DispersionFit", "FilmFit", "fit_dispersion", "fit_film", "width_onset"]


def _inputs(q, energy, sigma, name="energy"):
    q = np.asarray(validate.array(q, "q", kind="real", finite=False), float).ravel()
    e = np.asarray(validate.array(energy, name, kind="real", finite=False), float).ravel()
    if e.size != q.size:
        raise validate.InputError(f"{name} has {e.size} values, q has {q.size}")
    s = np.ones_like(e) if sigma is None else np.broadcast_to(
        np.asarray(validate.array(sigma, f"{name}_sigma", kind="real", finite=False), float).ravel(), e.shape)
    ok = np.isfinite(q) & np.isfinite(e) & np.isfinite(s) & (s > 0)
    return q, e, s, ok


@dataclasses.dataclass(frozen=True)
class DispersionFit:
    """E_p(q) = E_p(0) + α(ħ²/m)q²: ``plasmon_energy`` E_p(0) [eV], ``alpha`` [–], their σ and covariance,
    reduced χ², the number of points and the q range used [1/Å]."""

    plasmon_energy: float
    alpha: float
    plasmon_energy_sigma: float
    alpha_sigma: float
    cov: np.ndarray
    chi2_reduced: float
    n_points: int
    q_range: tuple

    def energy(self, q):
        """The fitted dispersion at q [1/Å] → [eV]."""
        return self.plasmon_energy + self.alpha * HBAR2_OVER_M * np.asarray(q) ** 2

    def group_velocity(self, q):
        """v_g = (1/ħ)dE/dq [Å/fs] at q [1/Å]."""
        return group_velocity(np.asarray(q), self.alpha)

    def to_dict(self) -> dict:
        return {"plasmon_energy": {"value": self.plasmon_energy, "units": "eV"},
                "plasmon_energy_sigma": {"value": self.plasmon_energy_sigma, "units": "eV"},
                "alpha": self.alpha, "alpha_sigma": self.alpha_sigma, "chi2_reduced": self.chi2_reduced,
                "n_points": self.n_points, "q_range": {"value": list(self.q_range), "units": "1/Å"}}


def fit_dispersion(q, energy, sigma=None, *, q_min: float = 0.0, q_max: float | None = None) -> DispersionFit:
    """Weighted least-squares fit of E(q) = E_p(0) + α(ħ²/m)q² to peak energies [eV] at q [1/Å] with
    standard errors ``sigma`` [eV] (None: unweighted, σ from the scatter), over q_min ≤ |q| ≤ q_max."""
    q, e, s, ok = _inputs(q, energy, sigma)
    lo = validate.scalar(q_min, "q_min", "1/Å", nonnegative=True)
    hi = np.inf if q_max is None else validate.scalar(q_max, "q_max", "1/Å", positive=True)
    ok &= (np.abs(q) >= lo) & (np.abs(q) <= hi)
    if ok.sum() < 3:
        raise validate.InputError(f"fit_dispersion needs ≥ 3 valid points in |q| ∈ [{lo:g}, {hi:g}] 1/Å, got "
                                  f"{int(ok.sum())}")
    X = np.stack([np.ones(ok.sum()), HBAR2_OVER_M * q[ok] ** 2], 1)
    w = 1.0 / s[ok] ** 2
    A = X.T @ (X * w[:, None])
    beta = np.linalg.solve(A, X.T @ (w * e[ok]))
    r = e[ok] - X @ beta
    dof = max(int(ok.sum()) - 2, 1)
    chi2 = float(np.sum(w * r ** 2) / dof)
    cov = np.linalg.inv(A) * (chi2 if sigma is None else 1.0)
    return DispersionFit(float(beta[0]), float(beta[1]), float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1])), cov,
                         chi2, int(ok.sum()), (float(np.abs(q[ok]).min()), float(np.abs(q[ok]).max())))


@dataclasses.dataclass(frozen=True)
class FilmFit:
    """Thin-film branches: ``plasmon_energy`` E_p [eV], ``thickness`` d [Å], σ, covariance, reduced χ²."""

    plasmon_energy: float
    thickness: float
    plasmon_energy_sigma: float
    thickness_sigma: float
    cov: np.ndarray
    chi2_reduced: float

    def branches(self, q):
        """(E₊, E₋) [eV] at q [1/Å]."""
        return film_branches(np.asarray(q, float), self.plasmon_energy, self.thickness)

    def to_dict(self) -> dict:
        return {"plasmon_energy": {"value": self.plasmon_energy, "units": "eV"},
                "thickness": {"value": self.thickness, "units": "Å"},
                "plasmon_energy_sigma": {"value": self.plasmon_energy_sigma, "units": "eV"},
                "thickness_sigma": {"value": self.thickness_sigma, "units": "Å"}, "chi2_reduced": self.chi2_reduced}


def fit_film(q, upper, lower, upper_sigma=None, lower_sigma=None, *, plasmon_energy=None, thickness=None,
             n_iter: int = 50) -> FilmFit:
    """Fit E±(q) = (E_p/√2)√(1 ± e^{−qd}) to the upper and lower branch energies [eV] at q [1/Å]
    (Gauss–Newton with step halving; starts: E_p = √2·mean of the branches' mean, d from the splitting)."""
    q, eu, su, oku = _inputs(q, upper, upper_sigma, "upper")
    _, el, sl, okl = _inputs(q, lower, lower_sigma, "lower")
    ok = oku & okl & (q != 0)
    if ok.sum() < 2:
        raise validate.InputError(f"fit_film needs ≥ 2 q with both branches valid, got {int(ok.sum())}")
    q, eu, el, su, sl = q[ok], eu[ok], el[ok], su[ok], sl[ok]
    Ep = np.sqrt(np.mean(eu ** 2 + el ** 2)) if plasmon_energy is None else validate.scalar(
        plasmon_energy, "plasmon_energy", "eV", positive=True)
    if thickness is None:
        ratio = np.clip((eu ** 2 - el ** 2) / (eu ** 2 + el ** 2), 1e-6, 1 - 1e-9)   # = e^{−qd}
        d = float(np.median(-np.log(ratio) / np.abs(q)))
    else:
        d = validate.scalar(thickness, "thickness", "Å", positive=True)
    y = np.concatenate([eu, el])
    w = 1 / np.concatenate([su, sl]) ** 2
    th = np.array([Ep, d])

    def resid(t):
        u, lo = film_branches(q, t[0], t[1])
        return np.concatenate([u, lo]) - y

    def jac(t):
        u, lo = film_branches(q, t[0], t[1])
        e = np.exp(-np.abs(q) * t[1])
        s2 = t[0] ** 2 / 2
        du = -s2 * np.abs(q) * e / (2 * u)
        dl = s2 * np.abs(q) * e / (2 * lo)
        return np.stack([np.concatenate([u, lo]) / t[0], np.concatenate([du, dl])], 1)

    cost = np.sum(w * resid(th) ** 2)
    for _ in range(validate.integer(n_iter, "n_iter", lo=1)):
        J = jac(th)
        A = J.T @ (J * w[:, None])
        step = np.linalg.solve(A + 1e-12 * np.trace(A) * np.eye(2), -J.T @ (w * resid(th)))
        for _h in range(30):
            cand = th + step
            if cand[1] > 0 and np.sum(w * resid(cand) ** 2) <= cost:
                break
            step = step / 2
        else:
            break
        new = np.sum(w * resid(cand) ** 2)
        th, done = cand, cost - new <= 1e-14 * max(cost, 1e-300)
        cost = new
        if done:
            break
    J = jac(th)
    dof = max(y.size - 2, 1)
    chi2 = float(cost / dof)
    cov = np.linalg.inv(J.T @ (J * w[:, None])) * (chi2 if upper_sigma is None else 1.0)
    return FilmFit(float(th[0]), float(th[1]), float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1])), cov, chi2)


def width_onset(q, width, sigma=None, *, min_points: int = 3) -> dict:
    """The cut-off q_c [1/Å] where the fitted width Γ(q) [eV] steps up (Landau damping): the split of the
    q-sorted points into a low and a high level with the least weighted squared residual; returns
    ``{"q_c", "gamma_below", "gamma_above", "step_sigma"}`` (q_c half-way between the neighbours of the
    split; step_sigma: the level difference in units of its standard error)."""
    q, g, s, ok = _inputs(q, width, sigma, "width")
    order = np.argsort(q[ok])
    q, g, s = q[ok][order], g[ok][order], s[ok][order]
    k = validate.integer(min_points, "min_points", lo=1)
    if q.size < 2 * k:
        raise validate.InputError(f"width_onset needs ≥ {2 * k} valid points, got {q.size}")
    w = 1 / s ** 2
    cw, cwg, cwg2 = np.cumsum(w), np.cumsum(w * g), np.cumsum(w * g * g)
    tw, twg, twg2 = cw[-1], cwg[-1], cwg2[-1]
    i = np.arange(k - 1, q.size - k)          # split after index i
    m1 = cwg[i] / cw[i]
    m2 = (twg - cwg[i]) / (tw - cw[i])
    sse = (cwg2[i] - cw[i] * m1 ** 2) + ((twg2 - cwg2[i]) - (tw - cw[i]) * m2 ** 2)
    b = int(i[np.argmin(sse)])
    lo, hi = cwg[b] / cw[b], (twg - cwg[b]) / (tw - cw[b])
    se = np.sqrt(1 / cw[b] + 1 / (tw - cw[b]))
    return {"q_c": float((q[b] + q[b + 1]) / 2), "gamma_below": float(lo), "gamma_above": float(hi),
            "step_sigma": float((hi - lo) / se)}
