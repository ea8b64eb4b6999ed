"""The space–time picture: the causal response χ(x, t) from a loss function L(q, E), and back.

Conventions (x ∥ q along the slit; q angular [1/Å], E = ħω [eV], x [Å], t [fs], ħ = 0.6582 eV·fs):

* χ″(q, ω) is the imaginary part of a causal response: ``quantity="loss"`` (default) takes the inverse
  dielectric function, Im[ε⁻¹ − 1] = −L(q, E) (the potential induced by an external charge impulse);
  ``quantity="chi"`` the density response Im χ = −(ε₀q²/e²)·L (arbitrary units, the q² kept).
* χ″ is odd, χ″(−q, −ω) = −χ″(q, ω); the measured E ≥ 0 half is antisymmetrised to negative E. A q
  axis that starts at 0 is mirrored, χ″(−q, ω) = χ″(q, ω) (an isotropic medium; a q axis that starts
  above 0 is padded with zeros down to 0 first); a q axis symmetric about 0 is used as it is.
* χ″(x, t) = ∫dq/2π ∫dω/2π e^{i(qx − ωt)} χ″(q, ω) (purely imaginary), and the causal response
  χ(x, t) = 2iθ(t)·χ″(x, t) (real; θ(0) = ½). Discretely: Hann apodisation in q and E (``window``),
  zero padding ×``pad``, an inverse DFT along q and a forward DFT along E, the zero frequency at index 0
  internally and the axes centred (``fftshift``) in the output. The imaginary residue of χ is reported
  (``imag_residual``, ≈ 10⁻¹⁶ in float64).
* Envelope: the analytic signal χ_a = 4iθ(t)·∫∫_{ω>0}…, with Re χ_a = χ; |χ_a| is the envelope.
* Resolution: Δx ≈ 2π/q_max, t_max ≈ 2πħ/δE (energy resolution δE), Δt ≈ 2πħ/E_range.

:func:`inverse_spacetime` transforms χ(x, t) back: Im of the (q, ω) transform is χ″ exactly (the real
part is the Kramers–Kronig partner χ′); without windows the input L is recovered to rounding.
:func:`track_packet` follows the wave packet: the envelope centroid x̄(t) of the x > 0 half (its slope
is the group velocity v_g at the amplitude-weighted mean q), the packet norm ‖χ_a(·, t)‖ (by Parseval
it decays as exp(−Γt/2ħ) for any dispersion), and the oscillation period at x = 0 (the phase slope
of χ_a(0, t)).
"""
from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..measurement import Axis, Measurement
from .maps import as_qe_map
from .model import HBAR
from .noise import resolution_factor, resolution_kernel, wiener_shrink

__all__ = ["SpaceTime", "spacetime", "inverse_spacetime", "track_packet", "resolution", "PacketTrack"]


def _fast(n: int) -> int:
    """Smallest 2^a·3^b·5^c ≥ n."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def resolution(q_max: float, energy_step: float, energy_range: float, energy_resolution=None) -> dict:
    """Δx = 2π/q_max [Å], t_max = 2πħ/δE [fs] (δE: ``energy_resolution`` or the step), Δt = 2πħ/E_range [fs]."""
    q_max = validate.scalar(q_max, "q_max", "1/Å", positive=True)
    energy_step = validate.scalar(energy_step, "energy_step", "eV", positive=True)
    energy_range = validate.scalar(energy_range, "energy_range", "eV", positive=True)
    dE = energy_step if energy_resolution is None else validate.scalar(energy_resolution, "energy_resolution",
                                                                       "eV", positive=True)
    return {"dx": {"value": 2 * np.pi / q_max, "units": "Å"}, "t_max": {"value": 2 * np.pi * HBAR / dE, "units": "fs"},
            "dt": {"value": 2 * np.pi * HBAR / energy_range, "units": "fs"},
            "energy_resolution": {"value": dE, "units": "eV"}}


_limits = resolution    # the name ``resolution`` is also an argument of spacetime


@dataclasses.dataclass(frozen=True)
class SpaceTime:
    """Result of :func:`spacetime`: ``chi`` (real χ(x, t)) and ``envelope`` (|χ_a|) as Measurements with
    axes (x [Å] …, t [fs]); ``analytic`` χ_a (complex NumPy); the layout for :func:`inverse_spacetime`."""

    chi: Measurement
    envelope: Measurement
    analytic: np.ndarray
    layout: dict

    @property
    def x(self):
        return [a.values(n) for a, n in zip(self.chi.axes[:-1], self.chi.shape[:-1])]

    @property
    def t(self):
        return self.chi.axes[-1].values(self.chi.shape[-1])


def _hann(v, vmax, step):
    return 0.5 * (1 + np.cos(np.pi * np.clip(np.abs(v) / (vmax + step), 0, 1)))


@partial(jax.jit, static_argnames=("geom", "n_t"))
def _transform(fw, corr, scale, geom: tuple, n_t: int):
    """The device-side layout and transform: ``fw`` (…q, nE) is the weighted −L on E = k·δE ≥ 0 (q ≥ 0
    for the mirrored axes); ``geom`` per q axis (mirrored, N). Builds the odd extension
    F(−q, −ω) = −F(q, ω) in FFT order, transforms F and its ω > 0 part with one complex FFT (two real
    inputs: C = T(F + i·F₊), T(a)(−x, −t) = T(a)(x, t)* for real a), and returns χ (centred, real),
    χ_a (centred), |χ_a| and the imaginary residue of 2iθ·T(F) (before the resolution correction)."""
    nq = len(geom)
    full = fw
    for i, (mirrored, N) in enumerate(geom):
        n = full.shape[i]
        zshape = list(full.shape)
        if mirrored:   # q = 0 … n−1, zeros, −(n−1) … −1
            zshape[i] = N - (2 * n - 1)
            neg = jnp.flip(jax.lax.slice_in_dim(full, 1, n, axis=i), i)
            full = jnp.concatenate([full, jnp.zeros(zshape, full.dtype), neg], i)
        else:          # symmetric about 0: q = 0 … , zeros, … −1
            c = n // 2
            zshape[i] = N - n
            full = jnp.concatenate([jax.lax.slice_in_dim(full, c, n, axis=i), jnp.zeros(zshape, full.dtype),
                                    jax.lax.slice_in_dim(full, 0, c, axis=i)], i)
    nE = full.shape[-1]
    negq = full            # index (−j) mod N of every q axis
    for i in range(nq):
        negq = jnp.roll(jnp.flip(negq, i), 1, i)
    lead = full.shape[:-1]
    fpos = jnp.concatenate([full, jnp.zeros(lead + (n_t - nE,), full.dtype)], -1)
    fneg = jnp.concatenate([jnp.zeros(lead + (n_t - nE + 1,), full.dtype), -jnp.flip(negq[..., 1:], -1)], -1)
    ax = tuple(range(nq))
    C = jnp.fft.ifftn(jnp.fft.fft((fpos + fneg) + 1j * fpos, axis=-1), axes=ax) * scale
    Crev = jnp.conj(C)
    for i in range(nq + 1):
        Crev = jnp.roll(jnp.flip(Crev, i), 1, i)
    G, Gp = (C + Crev) / 2, (C - Crev) / 2j
    n = jnp.arange(n_t)
    theta = jnp.where(n == 0, 0.5, jnp.where(n < (n_t + 1) // 2, 1.0, 0.0))
    chi_raw = 2j * theta * G
    resid = jnp.abs(chi_raw.imag).max() / jnp.maximum(jnp.abs(chi_raw.real).max(), jnp.finfo(fw.dtype).tiny)
    chia = 4j * theta * Gp * corr          # Re χ_a = χ for an odd F (exact); Z(t) divided out
    shift = tuple(range(nq + 1))
    chia = jnp.fft.fftshift(chia, axes=shift)
    return chia.real, chia, jnp.abs(chia), resid


def spacetime(loss, *, quantity: str = "loss", window: str | None = "hann", pad: int = 2,
              energy_resolution=None, noise=None, prior=None, resolution=None, resolution_floor: float = 0.05,
              precision=None) -> SpaceTime:
    """χ(x, t) from a loss-function map (see the module docstring).

    Args:
        loss: L(q, E) map (e.g. :func:`~jaxem.eels.preprocess.loss_function`), E on the grid k·δE ≥ 0.
        quantity: ``"loss"`` (response ε⁻¹ − 1) or ``"chi"`` (density response, × q²).
        window: ``"hann"`` (apodise q and E) or ``None`` (exact round trip).
        pad: zero-padding factor of each (mirrored) axis (≥ 1).
        energy_resolution: δE [eV] for t_max (default: the FWHM of ``resolution`` or of the map's ZLP if
            known, else the step).
        noise: standard error σ_L of every pixel of L (array of L's shape, e.g.
            :func:`~jaxem.eels.noise.loss_sigma`); with ``prior`` the transform takes the Wiener estimate
            (:func:`~jaxem.eels.noise.wiener_shrink`) instead of L, and reports the weights.
        prior: smooth model M of L (array of L's shape, e.g. the per-q peak fit) for ``noise``.
        resolution: the instrument function (ZLP Measurement on the map's energy step) that broadens L;
            its characteristic function Z(t) is divided out (:func:`~jaxem.eels.noise.resolution_factor`).
        resolution_floor: ε of the regularised inverse Z*/(|Z|² + ε²).
        precision: ``"float32"``/``"float64"`` (default: follows the data).
    """
    validate.choice(quantity, "quantity", ("loss", "chi"))
    validate.choice(window, "window", ("hann", None))
    pad = validate.integer(pad, "pad", lo=1, hi=16)
    m = as_qe_map(loss, name="loss")
    eax = m.axes[-1]
    dE = eax.sampling
    k0 = eax.offset / dE
    if eax.offset < -1e-9 * dE or abs(k0 - round(k0)) > 1e-6:
        raise validate.InputError(f"the energy axis must lie on the grid E = k·δE, k ≥ 0 (offset {eax.offset:g} eV, "
                                  f"step {dE:g} eV); use eels.loss_function, which puts L on that grid")
    L = np.asarray(m.array, float)
    noise_md = None
    if (noise is None) != (prior is None):
        raise validate.InputError("noise weighting needs both noise= (σ of L) and prior= (a smooth model of L, e.g. "
                                  "the per-q peak fit); got only " + ("noise" if prior is None else "prior"))
    if noise is not None:
        L, wts = wiener_shrink(L, noise, prior)
        peak = np.asarray(prior, float)
        peak = peak >= 0.5 * np.max(peak, axis=-1, keepdims=True)
        wq = np.where(peak, wts, 0).sum(-1) / np.maximum(peak.sum(-1), 1)
        noise_md = {"method": "Wiener estimate about the prior, w = M²/(M² + σ²)", "mean_weight": float(wts.mean()),
                    "peak_weight_per_q": wq.tolist()}
        if m.ndim == 2:
            q0 = m.axes[0].values(m.shape[0])
            low = np.nonzero(wq < 0.5)[0]
            noise_md["q_data_half_weight"] = {"value": float(q0[low[0]]) if low.size else None, "units": "1/Å"}
    bad = ~np.isfinite(L)
    if bad.any():
        raise validate.InputError(f"loss holds {int(bad.sum())} NaN pixel(s) (first at {tuple(np.argwhere(bad)[0])}); "
                                  f"the Fourier transform needs a complete map (fill or crop them)")
    k0 = int(round(k0))
    L = np.concatenate([np.zeros(L.shape[:-1] + (k0,)), L], -1)           # E from 0
    L[..., 0] = 0.0                                                       # χ″ is odd in ω
    nE = L.shape[-1]
    E = dE * np.arange(nE)
    nq = m.ndim - 1
    qvals, mirrored = [], []
    for i, a in enumerate(m.axes[:-1]):
        n = L.shape[i]
        dq = a.sampling
        j0 = a.offset / dq
        if abs(j0 - round(j0)) > 1e-6:
            raise validate.InputError(f"q axis {a.name!r} must lie on the grid q = j·δq (offset {a.offset:g}, "
                                      f"step {dq:g} 1/Å)")
        j0 = int(round(j0))
        if j0 >= 0:       # q ≥ 0: pad to 0, mirror (isotropy)
            L = np.concatenate([np.zeros(L.shape[:i] + (j0,) + L.shape[i + 1:]), L], i)
            mirrored.append(True)
        elif j0 + n - 1 == -j0:
            mirrored.append(False)
        else:
            raise validate.InputError(f"q axis {a.name!r} spans [{a.offset:g}, {a.offset + (n - 1) * dq:g}] 1/Å: it "
                                      f"must start at q ≥ 0 (mirrored by isotropy) or be symmetric about 0")
        qvals.append((dq, j0))
    qs = [dq * (np.arange(n) + (0 if mirrored[i] else j0)) for i, ((dq, j0), n) in enumerate(zip(qvals, L.shape))]
    f = -L
    if quantity == "chi":
        f = f * sum(g ** 2 for g in np.meshgrid(*qs, indexing="ij"))[..., None]
    weights = np.ones(L.shape)
    if window == "hann":
        for i, ((dq, _), qv) in enumerate(zip(qvals, qs)):
            shape = [1] * L.ndim
            shape[i] = qv.size
            weights = weights * _hann(qv, np.abs(qv).max(), dq).reshape(shape)
        weights = weights * _hann(E, E[-1], dE)
    fw = f * weights
    Nq = [_fast(pad * (2 * n - 1)) if mir else _fast(pad * n) for n, mir in zip(L.shape, mirrored)]
    Nt = _fast(pad * 2 * nE)
    rdt, cdt = accel.dtypes(accel.select_precision(precision, m.array))
    dqs = [dq for dq, _ in qvals]
    scale = float(np.prod(dqs) / (2 * np.pi) ** nq * (dE / HBAR) / (2 * np.pi) * np.prod(Nq))
    corr = np.ones(Nt, complex)
    res_md = None
    if resolution is not None:
        kern, e0, step = resolution_kernel(resolution)
        corr, absZ, tt = resolution_factor(kern, e0, step, Nt, dE, resolution_floor)
        pos = tt >= 0
        lost = pos & (absZ < resolution_floor)
        res_md = {"method": "Z*/(|Z|²+ε²) of the ZLP's characteristic function", "floor": resolution_floor,
                  "t_resolved": {"value": float(tt[lost].min()) if lost.any() else float(tt[pos].max()), "units": "fs"}}
        if energy_resolution is None:
            half = kern >= 0.5 * kern.max()
            energy_resolution = float(np.ptp(np.nonzero(half)[0]) + 1) * step
    geom = tuple((bool(mir), int(N)) for mir, N in zip(mirrored, Nq))
    chi_c, chia_c, env, resid = _transform(jnp.asarray(fw, rdt), jnp.asarray(corr, cdt), scale, geom, Nt)
    chi_c, chia_c, env, resid = np.asarray(chi_c), np.asarray(chia_c), np.asarray(env), float(resid)
    dxs = [2 * np.pi / (N * dq) for N, dq in zip(Nq, dqs)]
    dt = 2 * np.pi * HBAR / (Nt * dE)
    names = ("x",) if nq == 1 else ("y", "x")
    axes = tuple(Axis(nm, dx, "Å", -(N // 2) * dx) for nm, dx, N in zip(names, dxs, Nq)) + (
        Axis("t", dt, "fs", -(Nt // 2) * dt),)
    if energy_resolution is None:
        zf = m.metadata.get("zlp_fwhm")
        energy_resolution = zf["value"] if isinstance(zf, dict) else None
    qmax = max((n - 1 if mirrored[i] else (n - 1) / 2) * dq for i, ((dq, _), n) in enumerate(zip(qvals, L.shape)))
    res = _limits(qmax, dE, E[-1], energy_resolution)
    # amplitude-weighted mean |q| (the packet's centre q)
    amp = np.abs(fw).sum(-1)
    qgrid = np.sqrt(sum(g ** 2 for g in np.meshgrid(*qs, indexing="ij")))
    qc = float((amp * qgrid).sum() / max(amp.sum(), 1e-300))
    md = {"quantity": "χ(x,t) (inverse dielectric response)" if quantity == "loss" else "χ(x,t) (density response)",
          "units": "arb. units", "window": window, "pad": pad, "imag_residual": resid,
          "resolution": res, "centre_q": {"value": qc, "units": "1/Å"}, "mirrored_q": mirrored,
          "noise_weighting": noise_md, "resolution_correction": res_md, "beam": m.metadata.get("beam"),
          "source": m.metadata.get("spacetime_source")}
    md = {k: v for k, v in md.items() if v is not None}
    layout = {"shape": L.shape, "k0": k0, "qvals": qvals, "mirrored": mirrored, "Nq": Nq, "Nt": Nt,
              "weights": weights, "quantity": quantity, "scale": scale, "q_axes": m.axes[:-1], "dE": dE,
              "original_E": m.axes[-1], "original_shape": m.shape, "corrected": resolution is not None}
    return SpaceTime(Measurement(chi_c, axes, md, signal_ndim=nq + 1),
                     Measurement(env, axes, {**md, "quantity": "|χ_a(x,t)| (envelope)"}, signal_ndim=nq + 1),
                     chia_c, layout)


@validate.typed
def inverse_spacetime(st: SpaceTime, chi=None, *, unweight: bool = True) -> Measurement:
    """Transform χ(x, t) (``st.chi`` or a modified array of its shape) back to L(q, E) on the original axes.

    Im of the (q, ω) transform is χ″; the q² factor (``quantity="chi"``) and, with ``unweight``, the
    windows are divided out where they exceed 10⁻³ (exact for ``window=None``).
    """
    if not isinstance(st, SpaceTime):
        raise validate.InputTypeError(f"st must be a SpaceTime from eels.spacetime, got {type(st).__name__}")
    lay = st.layout
    c = st.chi.numpy() if chi is None else np.asarray(validate.array(chi, "chi", shape=st.chi.shape, kind="real"))
    nq = len(lay["Nq"])
    c = np.fft.ifftshift(c, axes=tuple(range(nq + 1)))
    G = np.fft.fftn(np.fft.ifft(c, axis=-1), axes=tuple(range(nq))) / lay["scale"]
    chi2 = G.imag                          # χ = 2iθχ″: Im of its (q, ω) transform is χ″, Re is χ′
    # undo the layout: positive ω, q ≥ 0 (mirrored) or the symmetric order
    nE = lay["shape"][-1]
    out = chi2[..., :nE]
    for i in range(nq):
        n = lay["shape"][i]
        if lay["mirrored"][i]:
            out = np.take(out, np.arange(n), i)
        else:
            N, cidx = lay["Nq"][i], n // 2
            out = np.concatenate([np.take(out, np.arange(N - cidx, N), i), np.take(out, np.arange(0, n - cidx), i)], i)
    f = -out
    if lay["quantity"] == "chi":
        qs = [dq * (np.arange(n) + (0 if lay["mirrored"][i] else j0)) for i, ((dq, j0), n) in
              enumerate(zip(lay["qvals"], lay["shape"]))]
        q2 = sum(g ** 2 for g in np.meshgrid(*qs, indexing="ij"))[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(q2 > 0, f / q2, 0.0)
    if unweight:
        w = lay["weights"]
        f = np.where(w > 1e-3, f / np.where(w > 1e-3, w, 1.0), 0.0)
    # back to the original q and E ranges
    for i, ((dq, j0), mir) in enumerate(zip(lay["qvals"], lay["mirrored"])):
        if mir and j0 > 0:
            f = np.take(f, np.arange(j0, f.shape[i]), i)
    f = f[..., lay["k0"]:]
    md = {"quantity": "loss function Im[-1/ε] (from χ(x,t))", "units": "arb. units", "windows_divided": unweight}
    return Measurement(f, (*lay["q_axes"], lay["original_E"]), md, signal_ndim=1)


@dataclasses.dataclass(frozen=True)
class PacketTrack:
    """Wave-packet observables on a time window: times t [fs], envelope centroid x̄(t) [Å] (x > 0), its
    fitted velocity [Å/fs] ± σ, the packet norm ‖χ_a‖(t), its amplitude decay time τ [fs] (2ħ/Γ for a
    plasmon), the oscillation period at x = 0 [fs] and the centre q [1/Å]."""

    t: np.ndarray
    centroid: np.ndarray
    velocity: float
    velocity_sigma: float
    norm: np.ndarray
    decay_time: float
    period: float
    centre_q: float

    def to_dict(self) -> dict:
        return {"velocity": {"value": self.velocity, "units": "Å/fs"},
                "velocity_sigma": {"value": self.velocity_sigma, "units": "Å/fs"},
                "decay_time": {"value": self.decay_time, "units": "fs"}, "period": {"value": self.period, "units": "fs"},
                "centre_q": {"value": self.centre_q, "units": "1/Å"}}


def _linfit(x, y):
    A = np.stack([np.ones_like(x), x], 1)
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    r = y - A @ beta
    cov = np.linalg.inv(A.T @ A) * (r @ r) / max(len(x) - 2, 1)
    return beta, np.sqrt(np.diag(cov))


@validate.typed
def track_packet(st: SpaceTime, t_range=(2.0, 8.0)) -> PacketTrack:
    """Follow the wave packet of a 2-D (x, t) space–time map over ``t_range`` [fs] (see the module
    docstring)."""
    if not isinstance(st, SpaceTime):
        raise validate.InputTypeError(f"st must be a SpaceTime from eels.spacetime, got {type(st).__name__}")
    if st.chi.ndim != 2:
        raise validate.InputError("track_packet follows a packet along one x axis (a 2-D (q, E) map)")
    t0, t1 = validate.pair(t_range, "t_range", "fs", nonnegative=True)
    t = st.t
    x = st.x[0]
    sel = (t >= t0) & (t <= t1)
    if sel.sum() < 4 or not t1 > t0:
        raise validate.InputError(f"t_range = {t_range!r} fs holds {int(sel.sum())} time samples of the map "
                                  f"(t ∈ [0, {t.max():.3g}] fs, step {t[1] - t[0]:.3g} fs); need ≥ 4")
    env = np.abs(st.analytic[:, sel])
    right = x > 0
    e = env[right]
    cen = (x[right, None] * e).sum(0) / e.sum(0)
    (_, v), (_, sv) = _linfit(t[sel], cen)
    norm = np.sqrt((env ** 2).sum(0) * (x[1] - x[0]))
    (_, sl), _ = _linfit(t[sel], np.log(norm))
    i0 = int(np.argmin(np.abs(x)))
    ph = np.unwrap(np.angle(st.analytic[i0, sel]))
    (_, w), _ = _linfit(t[sel], ph)
    return PacketTrack(t[sel], cen, float(v), float(sv), norm, float(-1 / sl), float(2 * np.pi / abs(w)),
                       float(st.chi.metadata["centre_q"]["value"]))
