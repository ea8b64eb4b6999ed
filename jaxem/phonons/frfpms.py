"""Frequency-resolved frozen phonons (FRFPMS; Zeiger & Rusz, PRL 124, 025501 (2020); PRB 104, 104301
(2021)) and the one-/multi-phonon split by parity pairs.

Energy resolution from band-filtered trajectories: the displacements u(t) = R(t) − R₀ of an NVE
trajectory are Fourier transformed over time, only the frequencies inside a band |E| ∈ [E_lo, E_hi)
are kept (both signs, so u stays real) and transformed back. Snapshots R₀ + u_band(t) then carry
only the motion of that band (anharmonic line shapes included, because the filter acts on the real
trajectory), and the frozen-phonon incoherent intensity of the band's snapshots,

    I(q, E_i) = ⟨|Ψ|²⟩ − |⟨Ψ⟩|²,

is the classical energy-resolved diffuse intensity of the bin (gain and loss together). The bands of
a partition add up to the whole motion (the ω = 0 bin, a static offset, belongs to no band). The
harmonic quantum split is loss = ½ I p(E), gain = ½ I p(−E) with p(E) = βE/(1 − e^{−βE}) (the TACAW
prefactor), evaluated at the band centre.

Parity pairs: a snapshot R and its mirror 2R₀ − R (u → −u). Expanding Ψ in powers of u, odd orders
change sign and even orders do not, so ψ_odd = (Ψ(R) − Ψ(2R₀ − R))/2 carries the one-phonon (and
three-, five-…) terms and ψ_even = (Ψ(R) + Ψ(2R₀ − R))/2 the elastic and two-phonon terms.
⟨|ψ_odd|²⟩ is the one-phonon intensity in the thin-specimen limit; ψ_odd of a static crystal is
exactly 0.
"""
from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from ..structure import Structure
from ..propagate.waves import Waves
from .frames import FrameKernel, check_frames
from .tacaw import H_MEV_FS, check_nyquist, quantum_prefactor, warn_if_not_equilibrium


def check_unwrapped(frames, cell, name: str = "frames") -> None:
    """An error when an atom moves by more than half a cell length between consecutive frames: the
    coordinates were wrapped into the cell (LAMMPS ``x y z``); time filters need unwrapped
    coordinates (``xu yu zu``)."""
    lengths = np.asarray(cell, float)
    lengths = np.diag(lengths) if lengths.ndim == 2 else lengths
    step = np.abs(np.diff(np.asarray(frames, float), axis=0))
    bad = np.argwhere(step > 0.5 * lengths)
    if bad.size:
        f, atom, axis = (int(v) for v in bad[0])
        raise validate.InputError(
            f"{name}: atom {atom} jumps by {step[f, atom, axis]:.4g} Å along {'xyz'[axis]} between frames {f} and "
            f"{f + 1} (more than half the cell, {lengths[axis]:.4g} Å): the coordinates look wrapped into the cell; "
            f"give unwrapped coordinates (LAMMPS dump xu yu zu)")


def _bands(bands) -> np.ndarray:
    b = np.asarray(validate.array(bands, "bands", kind="real", units="meV", nonnegative=True), float)
    if b.ndim == 1:
        b = b.reshape(-1, 2)
    if b.ndim != 2 or b.shape[1] != 2 or np.any(b[:, 1] <= b[:, 0]):
        raise validate.InputError(f"bands must be (E_lo, E_hi) pairs [meV] with E_lo < E_hi, got {bands!r}")
    return b


def band_edges(e_max, n_bands: int) -> np.ndarray:
    """A partition of (0, e_max] [meV] into ``n_bands`` equal bands, as (n_bands, 2) edges."""
    e_max = validate.scalar(e_max, "e_max", "meV", positive=True)
    n_bands = validate.integer(n_bands, "n_bands", lo=1)
    e = np.linspace(0.0, e_max, n_bands + 1)
    e[0] = 1e-12  # the static ω = 0 bin belongs to no band
    return np.stack([e[:-1], e[1:]], -1)


def band_pass(positions, time_step, bands, reference=None, cell=None, max_frequency=None) -> jnp.ndarray:
    """Band-filtered trajectories R₀ + u_band(t).

    Args:
        positions: (n_frames, N, 3) unwrapped positions [Å] of consecutive frames.
        time_step: Δt [fs].
        bands: (n_bands, 2) energy bands [meV] (|E| in [E_lo, E_hi)).
        reference: R₀ (N, 3) [Å]; default the time mean.
        cell: the cell lengths [Å] to check the coordinates are unwrapped (recommended).
        max_frequency: the highest phonon frequency [THz], if known: Δt above its Nyquist limit is
            an error (the motion would fold into the wrong bands). A band reaching above the
            Nyquist energy h/(2Δt) of the frames is always an error.
    Returns:
        (n_bands, n_frames, N, 3) positions [Å].
    """
    pos = validate.array(positions, "positions", ndim=3, kind="real", units="Å", finite=True)
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    b = _bands(bands)
    n = pos.shape[0]
    if n < 4:
        raise validate.InputError(f"positions has {n} frames; a band filter needs at least 4")
    if cell is not None:
        check_unwrapped(pos, cell, "positions")
    if max_frequency is not None:
        check_nyquist(dt, max_frequency)
    e_nyq = H_MEV_FS / (2 * dt)
    above = np.flatnonzero(b[:, 1] > e_nyq * (1 + 1e-9))
    if above.size:
        i = int(above[0])
        raise validate.InputError(
            f"bands[{i}] reaches {b[i, 1]:g} meV, above the Nyquist energy h/(2Δt) = {e_nyq:.4g} meV of time_step = "
            f"{dt:g} fs: such motion folds into lower bands; dump frames more often (Δt ≤ {H_MEV_FS / (2 * b[i, 1]):.4g} fs)")
    bin_width = H_MEV_FS / (n * dt)
    narrow = np.flatnonzero(b[:, 1] - b[:, 0] < bin_width)
    if narrow.size:
        i = int(narrow[0])
        raise validate.InputError(
            f"bands[{i}] = ({b[i, 0]:g}, {b[i, 1]:g}) meV is narrower than the trajectory's energy bin h/(NΔt) = {bin_width:.4g} meV; "
            f"run longer (≥ {int(np.ceil(H_MEV_FS / ((b[i, 1] - b[i, 0]) * dt)))} frames) or widen the band")
    pos = jnp.asarray(pos)
    ref = jnp.mean(pos, 0) if reference is None else jnp.asarray(
        validate.array(reference, "reference", shape=tuple(pos.shape[1:]), kind="real", units="Å"), pos.dtype)
    e = np.abs(np.fft.fftfreq(n, dt) * H_MEV_FS)
    masks = jnp.asarray((e[None] >= b[:, :1]) & (e[None] < b[:, 1:]), pos.dtype)  # (n_bands, n)
    uk = jnp.fft.fft(pos - ref, axis=0)
    filt = jnp.fft.ifft(masks[:, :, None, None] * uk[None], axis=1).real
    return ref + filt


@pytree.dataclass
class EnergyResolvedTDS:
    """Classical energy-resolved diffuse intensity I(q, E_i) (n_bands, …q) [fraction of the beam],
    with the band edges [meV] and the harmonic loss/gain split."""

    intensity: jnp.ndarray
    bands: np.ndarray = pytree.field(units="meV")
    equilibrium: bool | None = pytree.field(static=True, default=None)

    @property
    def centres(self) -> np.ndarray:
        return np.asarray(self.bands).mean(1)

    def loss_gain(self, temperature):
        """(loss, gain) = ½ I p(±E_centre) at ``temperature`` [K] (harmonic, equilibrium: warns when the
        trajectory was found out of equilibrium)."""
        if self.equilibrium is False:
            warnings.warn("the trajectory is not in equilibrium: the Bose loss/gain split assumes equilibrium; "
                          "report the classical intensity", stacklevel=2)
        p = quantum_prefactor(jnp.asarray(self.centres), temperature)
        m = (-1,) + (1,) * (self.intensity.ndim - 1)
        pm = quantum_prefactor(-jnp.asarray(self.centres), temperature)
        return 0.5 * self.intensity * p.reshape(m), 0.5 * self.intensity * pm.reshape(m)


def incoherent(psi) -> jnp.ndarray:
    """⟨|Ψ|²⟩ − |⟨Ψ⟩|² over the leading (snapshot) axis."""
    return jnp.mean(jnp.abs(psi) ** 2, 0) - jnp.abs(jnp.mean(psi, 0)) ** 2


def frfpms(structure: Structure, waves: Waves, positions, time_step, bands, *, stride: int = 1,
           slice_thickness: float = 1.0, parametrization: str = "lobato", q_region=None,
           memory_budget=None, max_frequency=None, temperatures=None) -> EnergyResolvedTDS:
    """Energy-resolved frozen phonons from one trajectory: band-pass the trajectory
    (:func:`band_pass`), run every ``stride``-th filtered frame through the snapshot kernel and
    reduce each band to ⟨|Ψ|²⟩ − |⟨Ψ⟩|².

    Args: as :func:`band_pass` and :func:`jaxem.phonons.frame_waves`; the structure is the
    equilibrium structure (its positions are R₀). ``temperatures`` [K] (per frame, MD thermo): a
    trajectory out of equilibrium warns here and again if the Bose loss/gain split is asked for.
    """
    stride = validate.integer(stride, "stride", lo=1)
    check_frames(positions, structure, "positions")
    equilibrium = None
    if temperatures is not None:
        temps = np.asarray(validate.array(temperatures, "temperatures", ndim=1, kind="real", units="K"), float)
        a, b = temps[: len(temps) // 2].mean(), temps[len(temps) // 2:].mean()
        equilibrium = bool(abs(a - b) <= 0.1 * max(abs(a), abs(b), 1e-12))
        if not equilibrium:
            warn_if_not_equilibrium(temps)
    filtered = band_pass(positions, time_step, bands, reference=structure.positions, cell=structure.lengths,
                         max_frequency=max_frequency)
    kernel = FrameKernel(structure, waves, slice_thickness=slice_thickness, parametrization=parametrization,
                         q_region=q_region)
    out = []
    for b in range(filtered.shape[0]):  # bands are few (≤ tens); frames inside a band are batched
        out.append(incoherent(kernel(filtered[b, ::stride], memory_budget)))
    return EnergyResolvedTDS(jnp.stack(out), _bands(bands), equilibrium)


@pytree.dataclass
class ParitySplit:
    """One-phonon (odd) and elastic + multi-phonon (even) parts of a snapshot ensemble.

    Attributes: ``one_phonon`` ⟨|ψ_odd|²⟩, ``even_diffuse`` ⟨|ψ_even|²⟩ − |⟨ψ_even⟩|², ``elastic``
    |⟨ψ_even⟩|², ``total`` ⟨|Ψ|²⟩ over both members of every pair (arrays over q)."""

    one_phonon: jnp.ndarray
    even_diffuse: jnp.ndarray
    elastic: jnp.ndarray
    total: jnp.ndarray


def parity_split(kernel: FrameKernel, frames, reference=None, memory_budget=None) -> ParitySplit:
    """Parity pairs (R, 2R₀ − R) of ``frames`` (n, N, 3) [Å] through ``kernel``; R₀ defaults to the
    kernel's equilibrium structure."""
    frames = jnp.asarray(check_frames(frames, kernel.structure))
    ref = kernel.structure.positions if reference is None else jnp.asarray(reference)
    plus = kernel(frames, memory_budget)
    minus = kernel(2 * ref[None] - frames, memory_budget)
    odd, even = 0.5 * (plus - minus), 0.5 * (plus + minus)
    return ParitySplit(jnp.mean(jnp.abs(odd) ** 2, 0), incoherent(even), jnp.abs(jnp.mean(even, 0)) ** 2,
                       0.5 * (jnp.mean(jnp.abs(plus) ** 2, 0) + jnp.mean(jnp.abs(minus) ** 2, 0)))


def ellipse_mask(grid, centre, semi_axes, angle: float = 0.0, supersample: int = 8) -> np.ndarray:
    """Anti-aliased elliptical region in reciprocal space on the grid's unshifted FFT frequencies:
    fractional pixel coverage of {k : (k − c)ᵀ R diag(1/a², 1/b²) Rᵀ (k − c) ≤ 1}, so area and centroid
    do not depend on the grid. ``centre`` (qy, qx) and ``semi_axes`` (a along the rotated y, b along x)
    in [1/Å]; ``angle`` [rad] counter-clockwise."""
    cy, cx = validate.pair(centre, "centre", "1/Å")
    a, b = validate.pair(semi_axes, "semi_axes", "1/Å", positive=True)
    angle = validate.scalar(angle, "angle", "rad")
    s = validate.integer(supersample, "supersample", lo=1, hi=64)
    ny, nx = grid.gpts
    dqy, dqx = (1.0 / (n * d) for n, d in zip(grid.gpts, grid.sampling))
    if a < dqy / 2 and b < dqx / 2:
        raise validate.InputError(f"semi_axes = ({a:g}, {b:g}) 1/Å are below half a pixel ({dqy:.4g} 1/Å): the "
                                  f"region would be empty")
    off = (np.arange(s) + 0.5) / s - 0.5
    fy = np.fft.fftfreq(ny, grid.sampling[0])[:, None, None, None] + off[None, None, :, None] * dqy
    fx = np.fft.fftfreq(nx, grid.sampling[1])[None, :, None, None] + off[None, None, None, :] * dqx
    dy, dx = fy - cy, fx - cx
    c, si = np.cos(angle), np.sin(angle)
    u = c * dy + si * dx
    v = -si * dy + c * dx
    inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
    return inside.mean(axis=(2, 3))


def region_intensities(patterns, masks) -> jnp.ndarray:
    """Σ_k M(k) I(k) for each mask (n_masks, ny, nx) and each pattern (…, ny, nx) → (…, n_masks)."""
    m = jnp.asarray(masks)
    if m.ndim == 2:
        m = m[None]
    return jnp.einsum("...yx,myx->...m", jnp.asarray(patterns), m.astype(jnp.asarray(patterns).dtype))


def satellite_intensities(pattern, grid, g, q, orders=(-2, -1, 0, 1, 2)) -> np.ndarray:
    """Intensities of the pixels at G + n q (n in ``orders``) of an unshifted pattern; ``g`` and ``q``
    (qy, qx) [1/Å] on the grid's frequency lattice."""
    from .frames import region_indices

    pts = [[g[0] + n * q[0], g[1] + n * q[1]] for n in orders]
    iy, ix = region_indices(pts, grid)
    return np.asarray(jnp.asarray(pattern)[..., jnp.asarray(iy), jnp.asarray(ix)])


__all__ = ["band_edges", "band_pass", "check_unwrapped", "EnergyResolvedTDS", "frfpms", "incoherent",
           "ParitySplit", "parity_split", "ellipse_mask", "region_intensities", "satellite_intensities"]

