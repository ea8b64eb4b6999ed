"""Synthetic truth for APT reconstruction: a lattice needle that evaporates in order.

The specimen is a bcc or fcc crystal (lattice parameter a [nm], [001] along the needle axis z) with a
**twist grain boundary** normal to z at ``interface_z`` [nm] (the upper grain rotated by
``twist_deg`` about z) carrying a segregated solute layer, optional spherical precipitates and a
homogeneous solute background.

The surface at evaporation progress τ [nm] (apex recession; apex at z = −τ) is a conic cap of apex
radius R(τ) and conic constant K(τ) joined to a cone of half-angle α(τ) (:mod:`.tipshape`):
z_s(r; τ) = −τ − g(r; R(τ), K(τ), α(τ)). α varies linearly with τ (a changing shank angle), R follows
the shank law dR/dτ = sin α/(1 − sin α) integrated along it, and K varies linearly (a cap that is not
hemispherical and changes shape). An atom at (r, z) evaporates at the τ* where the surface passes
it (bisection), from the surface point at its own lateral position, along the surface normal
ψ = atan(g′(r)). It reaches the detector at θ′ with θ = ξθ′ (or the wide-angle form) and
r_D = L tan θ′, is recorded with probability η if r_D ≤ r_D,max, and carries the voltage
V = k·F·R(τ*). TEM snapshots of the profile are recorded at ``n_profiles`` equally spaced τ with the
cumulative detected-ion count at that moment.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .isotopes import isotope_pattern
from .reconstruct import ReconParams
from .tipshape import TipProfiles, conic_r_of_psi, conic_sag, tip_profiles

_BASIS = {"bcc": np.array([[0, 0, 0], [0.5, 0.5, 0.5]]),
          "fcc": np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])}


@dataclass
class SyntheticTip:
    """Parameters of the synthetic needle and instrument (lengths [nm], detector [mm], field [V/nm])."""

    lattice: str = "bcc"
    a: float = 0.2866
    R0: float = 6.0
    alpha0_deg: float = 6.0
    alpha1_deg: float = 22.0
    K0: float = 0.8
    K1: float = -0.5
    depth: float = 14.0
    interface_z: float = -7.0
    twist_deg: float = 20.0
    gb_width: float = 0.6
    gb_solute: float = 0.35
    bulk_solute: float = 0.02
    precipitates: tuple = ()
    matrix: tuple = ("Fe", 2)
    solute: tuple = ("Cu", 1)
    xi: float = 1.5
    L: float = 100.0
    kF: float = 900.0
    eta: float = 0.5
    detector_radius: float = 40.0
    projection: str = "linear"
    n_profiles: int = 15
    detector_noise: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if self.lattice not in _BASIS:
            raise ValueError(f"lattice must be 'bcc' or 'fcc', got {self.lattice!r}")
        for name in ("a", "R0", "depth", "xi", "L", "kF", "detector_radius"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.eta <= 1:
            raise ValueError(f"eta must be in (0, 1], got {self.eta}")

    @property
    def omega(self) -> float:
        """Atomic volume [nm³]."""
        return self.a**3 / len(_BASIS[self.lattice])

    @property
    def d_spacing(self) -> float:
        """Spacing of the (002) planes normal to z [nm]."""
        return self.a / 2


@dataclass
class SyntheticRun:
    """A synthetic evaporation sequence with its truth."""

    x_det: np.ndarray
    y_det: np.ndarray
    voltage: np.ndarray
    mass: np.ndarray
    species: np.ndarray
    truth: np.ndarray
    tau: np.ndarray
    profiles: TipProfiles
    params: ReconParams
    tip: SyntheticTip
    profile_shapes: dict = field(default_factory=dict)


def _shape(tip: SyntheticTip, tau):
    """R(τ), K(τ), α(τ) of the evolving surface."""
    tau = np.asarray(tau, np.float64)
    f = np.clip(tau / tip.depth, 0, 1)
    alpha = np.deg2rad(tip.alpha0_deg + (tip.alpha1_deg - tip.alpha0_deg) * f)
    # R(τ) = R0 + ∫ s(α) dτ with α linear in τ: integrate on a fine grid
    grid = np.linspace(0, tip.depth, 2001)
    ag = np.deg2rad(tip.alpha0_deg + (tip.alpha1_deg - tip.alpha0_deg) * grid / tip.depth)
    s = np.sin(ag) / (1 - np.sin(ag))
    Rg = tip.R0 + np.concatenate([[0], np.cumsum(0.5 * (s[1:] + s[:-1]) * np.diff(grid))])
    return np.interp(tau, grid, Rg), tip.K0 + (tip.K1 - tip.K0) * f, alpha


def surface_sag(tip: SyntheticTip, r, tau):
    """Sag [nm] of the surface at progress τ [nm] at lateral radius r [nm]."""
    R, K, a = _shape(tip, tau)
    return conic_sag(r, R, K, a)


def _normal_angle(r, R, K, alpha):
    m = 1 / np.tan(alpha)
    rt = R * m / np.sqrt(1 + (1 + K) * m**2)
    rc = np.minimum(r, rt)
    slope = rc / R / np.sqrt(np.clip(1 - (1 + K) * rc**2 / R**2, 1e-12, None))
    return np.where(r < rt, np.arctan(slope), np.pi / 2 - alpha)


def _lattice(tip: SyntheticTip, half: float, zlo: float, rot: float):
    a = tip.a
    n = int(np.ceil(half * np.sqrt(2) / a)) + 1
    ij = np.arange(-n, n + 1)
    kz = np.arange(int(np.floor(zlo / a)) - 1, 2)
    cells = np.stack(np.meshgrid(ij, ij, kz, indexing="ij"), -1).reshape(-1, 3)
    pts = (cells[:, None, :] + _BASIS[tip.lattice][None]).reshape(-1, 3) * a
    c, s = np.cos(rot), np.sin(rot)
    x, y = c * pts[:, 0] - s * pts[:, 1], s * pts[:, 0] + c * pts[:, 1]
    pts = np.stack([x, y, pts[:, 2]], 1)
    return pts[(np.abs(pts[:, 0]) <= half) & (np.abs(pts[:, 1]) <= half) & (pts[:, 2] >= zlo) & (pts[:, 2] <= 0.5 * a)]


def _theta_prime(theta, xi, projection):
    if projection == "linear":
        return theta / xi
    lo, hi = np.zeros_like(theta), np.full_like(theta, np.pi / 2)
    for _ in range(50):  # θ = θ' + asin((ξ−1) sin θ') is increasing in θ'
        mid = 0.5 * (lo + hi)
        f = mid + np.arcsin(np.clip((xi - 1) * np.sin(mid), -1, 1)) - theta
        lo, hi = np.where(f < 0, mid, lo), np.where(f < 0, hi, mid)
    return 0.5 * (lo + hi)


def generate(tip: SyntheticTip | None = None, **overrides) -> SyntheticRun:
    """Evaporate the synthetic needle and record detector events, voltages and TEM profiles.

    Args:
        tip: :class:`SyntheticTip` (defaults if None).
        **overrides: fields replacing those of ``tip``.

    Returns:
        :class:`SyntheticRun` (ions in evaporation order).
    """
    tip = SyntheticTip(**{**(tip.__dict__ if tip else {}), **overrides})
    rng = np.random.default_rng(tip.seed)
    R1, K1, a1 = _shape(tip, tip.depth)
    thmax = np.arctan(tip.detector_radius / tip.L) * (tip.xi if tip.projection == "linear" else 1.0)
    if tip.projection == "wide":
        tp = np.arctan(tip.detector_radius / tip.L)
        thmax = tp + np.arcsin(min((tip.xi - 1) * np.sin(tp), 1.0))
    taus = np.linspace(0, tip.depth, 50)
    Rs, Ks, As = _shape(tip, taus)
    psi = np.minimum(thmax + 0.05, np.pi / 2 - As)
    r_gen = float(np.max(conic_r_of_psi(psi, Rs, Ks))) + 0.5
    zlo = -tip.depth - float(np.max(conic_sag(r_gen, Rs, Ks, As))) - 0.5
    lower = _lattice(tip, r_gen, zlo, 0.0)
    upper = _lattice(tip, r_gen, zlo, np.deg2rad(tip.twist_deg))
    pts = np.concatenate([lower[lower[:, 2] < tip.interface_z], upper[upper[:, 2] >= tip.interface_z]])
    r = np.hypot(pts[:, 0], pts[:, 1])
    keep = r <= r_gen
    pts, r = pts[keep], r[keep]
    z = pts[:, 2]
    f = lambda t: -t - surface_sag(tip, r, t) - z  # noqa: E731  (decreasing in τ)
    inside = (f(np.zeros_like(r)) >= 0) & (f(np.full_like(r, tip.depth)) < 0)
    pts, r, z = pts[inside], r[inside], z[inside]
    lo, hi = np.zeros_like(r), np.full_like(r, tip.depth)
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        above = (-mid - surface_sag(tip, r, mid) - z) >= 0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    tau = 0.5 * (lo + hi)
    R, K, al = _shape(tip, tau)
    psi = _normal_angle(r, R, K, al)
    tp = _theta_prime(psi, tip.xi, tip.projection)
    rd = tip.L * np.tan(np.minimum(tp, 1.5))
    phi = np.arctan2(pts[:, 1], pts[:, 0])
    det = (rd <= tip.detector_radius) & (rng.uniform(size=r.size) < tip.eta)
    # species: segregated boundary layer, precipitates, background
    p_sol = np.where(np.abs(z - tip.interface_z) <= tip.gb_width / 2, tip.gb_solute, tip.bulk_solute)
    for cx, cy, cz, rad, frac in tip.precipitates:
        p_sol = np.where((pts[:, 0] - cx) ** 2 + (pts[:, 1] - cy) ** 2 + (z - cz) ** 2 <= rad**2, frac, p_sol)
    species = (rng.uniform(size=r.size) < p_sol).astype(np.int8)
    order = np.argsort(tau[det], kind="stable")
    idx = np.flatnonzero(det)[order]
    xd = rd[idx] * np.cos(phi[idx]) + rng.normal(0, tip.detector_noise, idx.size)
    yd = rd[idx] * np.sin(phi[idx]) + rng.normal(0, tip.detector_noise, idx.size)
    volt = tip.kF * R[idx]
    mass = np.empty(idx.size)
    for s, (el, q) in enumerate((tip.matrix, tip.solute)):
        sel = species[idx] == s
        mq, ab = isotope_pattern(el, q)
        mass[sel] = rng.choice(mq, sel.sum(), p=ab / ab.sum()) + rng.normal(0, 0.02, sel.sum())
    # TEM snapshots
    tk = np.linspace(0, tip.depth, tip.n_profiles)
    Rk, Kk, Ak = _shape(tip, tk)
    count = np.searchsorted(tau[idx], tk).astype(np.float64)
    count[0] = 0.0
    rgrid = np.linspace(0, 2.0 * float(R1), 400)
    sag = np.stack([conic_sag(rgrid, a_, b_, c_) for a_, b_, c_ in zip(Rk, Kk, Ak)])
    profiles = tip_profiles(count, -tk, Rk, np.rad2deg(Ak), rgrid, sag)
    params = ReconParams(kF=tip.kF, xi=tip.xi, eta=tip.eta, L=tip.L, omega=tip.omega,
                         detector_radius=tip.detector_radius, R0=tip.R0,
                         shank_angle=float(np.deg2rad(tip.alpha0_deg)), z0=0.0)
    return SyntheticRun(xd.astype(np.float32), yd.astype(np.float32), volt.astype(np.float32),
                        mass.astype(np.float32), species[idx], pts[idx], tau[idx], profiles, params, tip,
                        {"tau": tk, "R": Rk, "K": Kk, "alpha": Ak})


def render_tip_image(R: float, K: float, alpha: float, apex_z: float, pixel: float = 0.25,
                     shape=(160, 128), top: float | None = None, mfp: float = 20.0,
                     noise: float = 0.0, blur: float = 1.0, seed: int = 0):
    """Bright-field TEM silhouette of the needle: I = exp(−t/λ) of the projected thickness t.

    Args:
        R, K, alpha: apex radius [nm], conic constant, shank half-angle [rad].
        apex_z: apex height [nm] in the image frame (rows run downwards from ``top``).
        pixel: pixel size [nm].
        shape: (rows, cols); the needle axis runs vertically through the central column.
        top: specimen-frame z [nm] of row 0 (default apex_z + 5 nm).
        mfp: mean free path λ [nm] for the contrast.
        noise: Gaussian noise σ (relative intensity).
        blur: Gaussian blur σ [px] (resolution).
        seed: noise seed.

    Returns:
        (image (rows, cols), z of row centres [nm], x of column centres [nm]).
    """
    from scipy.ndimage import gaussian_filter

    top = apex_z + 5.0 if top is None else top
    zr = top - (np.arange(shape[0]) + 0.5) * pixel
    xc = (np.arange(shape[1]) - (shape[1] - 1) / 2) * pixel
    # half-width of the needle at height z: invert the sag on a fine grid
    rr = np.linspace(0, (shape[1] / 2) * pixel * 2, 4000)
    g = conic_sag(rr, R, K, alpha)
    depth = apex_z - zr
    half = np.where(depth >= 0, np.interp(depth, g, rr), 0.0)
    t = 2 * np.sqrt(np.clip(half[:, None] ** 2 - xc[None, :] ** 2, 0, None))
    img = gaussian_filter(np.exp(-t / mfp), blur) if blur > 0 else np.exp(-t / mfp)
    if noise > 0:
        img = img + np.random.default_rng(seed).normal(0, noise, img.shape)
    return img, zr, xc
