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

import dataclasses

import numpy as np

from .. import pytree, validate
from .isotopes import element_isotopes, isotope_pattern
from .reconstruct import PROJECTIONS, ReconParams
from .tipshape import TipProfiles, _conic_r_of_psi, _conic_sag, conic_sag, tip_profiles

_BASIS = {"bcc": np.array([[0, 0, 0], [0.5, 0.5, 0.5]]),
          "fcc": np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])}


def _static(default, units=None):
    return pytree.field(static=True, units=units, default=default)


@pytree.dataclass
class SyntheticTip:
    """Parameters of the synthetic needle and instrument (lengths [nm], detector [mm], field [V/nm]).

    All fields are static (a hashable configuration); :meth:`replace` makes variants.
    """

    lattice: str = _static("bcc")
    a: float = _static(0.2866, "nm")
    R0: float = _static(6.0, "nm")
    alpha0_deg: float = _static(6.0, "deg")
    alpha1_deg: float = _static(22.0, "deg")
    K0: float = _static(0.8)
    K1: float = _static(-0.5)
    depth: float = _static(14.0, "nm")
    interface_z: float = _static(-7.0, "nm")
    twist_deg: float = _static(20.0, "deg")
    gb_width: float = _static(0.6, "nm")
    gb_solute: float = _static(0.35)
    bulk_solute: float = _static(0.02)
    precipitates: tuple = _static(())
    matrix: tuple = _static(("Fe", 2))
    solute: tuple = _static(("Cu", 1))
    xi: float = _static(1.5)
    L: float = _static(100.0, "mm")
    kF: float = _static(900.0, "V/nm")
    eta: float = _static(0.5)
    detector_radius: float = _static(40.0, "mm")
    projection: str = _static("linear")
    n_profiles: int = _static(15)
    detector_noise: float = _static(0.0, "mm")
    seed: int = _static(0)

    def __post_init__(self):
        validate.choice(self.lattice, "lattice", tuple(_BASIS))
        validate.choice(self.projection, "projection", PROJECTIONS)
        for name in ("a", "R0", "depth", "xi", "L", "kF", "detector_radius", "gb_width"):
            validate.scalar(getattr(self, name), name, pytree.units_of(self).get(name, ""), positive=True)
        for name in ("alpha0_deg", "alpha1_deg"):
            validate.scalar(getattr(self, name), name, "deg", lo=0.0, hi=60.0, lo_open=True, hi_open=True)
        for name in ("K0", "K1"):
            validate.scalar(getattr(self, name), name, lo=-1.0, lo_open=True)
        for name in ("interface_z", "twist_deg"):
            validate.scalar(getattr(self, name), name, pytree.units_of(self).get(name, ""))
        for name in ("gb_solute", "bulk_solute"):
            validate.scalar(getattr(self, name), name, lo=0.0, hi=1.0)
        validate.scalar(self.eta, "eta", lo=0.0, hi=1.0, lo_open=True)
        validate.scalar(self.detector_noise, "detector_noise", "mm", nonnegative=True)
        validate.integer(self.n_profiles, "n_profiles", lo=2)
        validate.integer(self.seed, "seed", lo=0)
        for name in ("matrix", "solute"):
            ion = getattr(self, name)
            if not (isinstance(ion, tuple) and len(ion) == 2 and isinstance(ion[0], str)):
                raise validate.InputError(f"{name} must be (element, charge), e.g. ('Fe', 2), got {ion!r}")
            element_isotopes(ion[0])
            validate.integer(ion[1], f"{name} charge", lo=1)
        for k, prec in enumerate(self.precipitates):
            if len(prec) != 5:
                raise validate.InputError(f"precipitates[{k}] must be (x, y, z [nm], radius [nm], solute fraction), "
                                          f"got {prec!r}")
            validate.scalar(prec[3], f"precipitates[{k}] radius", "nm", positive=True)
            validate.scalar(prec[4], f"precipitates[{k}] solute fraction", lo=0.0, hi=1.0)

    @property
    def omega(self) -> float:
        """Atomic volume [nm³]."""
        return self.a**3 / len(_BASIS[self.lattice])

    @property
    def d_spacing(self) -> float:
        """Spacing of the (002) planes normal to z [nm]."""
        return self.a / 2


@pytree.dataclass
class SyntheticRun:
    """A synthetic evaporation sequence with its truth.

    Attributes:
        x_det, y_det: detector hits [mm]; voltage [V]; mass: m/q [Da]; species: 0 matrix, 1 solute;
        truth: (n, 3) true positions [nm]; tau: evaporation progress [nm] of each ion;
        profiles: the TEM snapshots; params: the true :class:`ReconParams`; tip: the configuration;
        profile_shapes: R, K, α at the snapshots.
    """

    x_det: np.ndarray = pytree.field(units="mm")
    y_det: np.ndarray = pytree.field(units="mm")
    voltage: np.ndarray = pytree.field(units="V")
    mass: np.ndarray = pytree.field(units="Da")
    species: np.ndarray
    truth: np.ndarray = pytree.field(units="nm")
    tau: np.ndarray = pytree.field(units="nm")
    profiles: TipProfiles
    params: ReconParams
    tip: SyntheticTip = pytree.field(static=True)
    profile_shapes: dict = dataclasses.field(default_factory=dict)


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
    return _conic_sag(r, R, K, a)


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


@validate.typed
def generate(tip: SyntheticTip | None = None, **overrides) -> SyntheticRun:
    """Evaporate the synthetic needle and record detector events, voltages and TEM profiles.

    Args:
        tip: :class:`SyntheticTip` (defaults if None).
        **overrides: fields replacing those of ``tip``.

    Returns:
        :class:`SyntheticRun` (ions in evaporation order).
    """
    if tip is not None and not isinstance(tip, SyntheticTip):
        raise validate.InputTypeError(f"tip must be a SyntheticTip, got {type(tip).__name__}")
    names = [f.name for f in dataclasses.fields(SyntheticTip)]
    for key in overrides:
        validate.choice(key, "generate() parameter", names)
    tip = (tip or SyntheticTip()).replace(**overrides)
    rng = np.random.default_rng(tip.seed)
    R1, K1, a1 = _shape(tip, tip.depth)
    thmax = np.arctan(tip.detector_radius / tip.L) * (tip.xi if tip.projection == "linear" else 1.0)
    if tip.projection == "wide":
        tp = np.arctan(tip.detector_radius / tip.L)
        thmax = tp + np.arcsin(min((tip.xi - 1) * np.sin(tp), 1.0))
    taus = np.linspace(0, tip.depth, 50)
    Rs, Ks, As = _shape(tip, taus)
    psi = np.minimum(thmax + 0.05, np.pi / 2 - As)
    r_gen = float(np.max(_conic_r_of_psi(psi, Rs, Ks))) + 0.5
    zlo = -tip.depth - float(np.max(_conic_sag(r_gen, Rs, Ks, As))) - 0.5
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
    sag = np.stack([_conic_sag(rgrid, a_, b_, c_) for a_, b_, c_ in zip(Rk, Kk, Ak)])
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

    pixel = validate.scalar(pixel, "pixel", "nm", positive=True)
    apex_z = validate.scalar(apex_z, "apex_z", "nm")
    mfp = validate.scalar(mfp, "mfp", "nm", positive=True)
    noise = validate.scalar(noise, "noise", nonnegative=True)
    blur = validate.scalar(blur, "blur", "px", nonnegative=True)
    shape = validate.pair(shape, "shape", kind=int, lo=2)
    validate.allocation(shape, "shape", shape, "px")
    top = apex_z + 5.0 if top is None else validate.scalar(top, "top", "nm")
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
