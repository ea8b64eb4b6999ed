"""The ptychographic forward model: a mixed-state probe through a multislice object, pure and
differentiable with respect to object, probe, aberrations and probe positions.

Object: S slices of transmission t_s(r) = exp(iφ_s(r) − μ_s(r)) — φ the phase [rad] (σ times the
projected potential of the slice for an electron-transparent specimen), μ ≥ 0 the absorption — on the
object grid of :class:`~jaxem.ptycho.data.Geometry` (every non-zero complex transmission has this
form, so this is the complex-slice model written in the variables that regularise well).

Probe: M incoherent modes ψ_m, held in Fourier space on the window grid,

    Ψ_m(k) = P_m(k) · exp(−i[χ(k; a) − χ(k; a₀)]),

with P_m free complex arrays (initialised from :func:`jaxem.optics.probe_transfer` with the reference
aberrations a₀) and a the fitted aberrations (:class:`~jaxem.optics.Aberrations`, χ from
:func:`jaxem.optics.chi_from_frequencies`, C10 = −Δf): fitting a moves every mode's phase by the
aberration change.

Probe position r_p = r̂_p + δ_p − ⟨δ⟩ (nominal + fitted offset, mean offset removed so the object
cannot drift). The window's first pixel is ⌊r_p/s⌋ − N_w//2 (integer, wrapped in a periodic
object); the sub-pixel remainder moves the probe with the one Fourier shift
(:func:`jaxem.optics.phase_ramp`), differentiable in r_p. The exit wave of each mode comes from
the one slice step of jaxem, :func:`jaxem.propagate.multislice_array` (transmit, then propagate by the
slice thickness Δz with the band-limited Fresnel propagator of :func:`jaxem.propagate.fresnel_propagator`),
and the model intensity on the detector pixels is

    I_p(k) = Σ_m |F[ψ_m,exit](k)|² / N_w²        (Σ_k I_p = Σ_r |ψ_exit|², Parseval).
"""
from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..optics import Aberrations, chi_from_frequencies, phase_ramp
from ..optics.probes import probe_transfer
from ..propagate import fresnel_propagator, multislice_array
from .data import Geometry

__all__ = ["PtychoParams", "Model", "init_params", "probe_spectra", "transmissions", "model_amplitudes",
           "amplitude_error"]


@pytree.dataclass
class Model:
    """Static configuration of the forward model (hashable).

    Attributes:
        geometry: the reconstruction grid (:class:`~jaxem.ptycho.data.Geometry`).
        n_slices: S object slices.
        slice_thickness: Δz [Å] between slices (0 for single-slice ptychography).
        reference: the reference aberrations a₀ (C_nm [Å], φ_nm [rad]) as ((name, value), …).
    """

    geometry: Geometry = pytree.field(static=True)
    n_slices: int = pytree.field(static=True, default=1)
    slice_thickness: float = pytree.field(static=True, units="Å", default=0.0)
    reference: tuple = pytree.field(static=True, default=())

    def __post_init__(self):
        validate.instance(self.geometry, "geometry", Geometry, "a ptycho.Geometry (from ptycho.prepare(...).geometry)")
        object.__setattr__(self, "n_slices", validate.integer(self.n_slices, "n_slices", lo=1, hi=1000))
        object.__setattr__(self, "slice_thickness", validate.scalar(self.slice_thickness, "slice_thickness", "Å",
                                                                    nonnegative=True))
        if isinstance(self.reference, (str, bytes, dict)) or not hasattr(self.reference, "__iter__"):
            raise validate.InputTypeError(f"reference must be ((name, value), ...) aberration pairs [Å, rad], got "
                                          f"{type(self.reference).__name__} {self.reference!r}")
        ref = []
        for item in self.reference:
            if isinstance(item, (str, bytes)) or np.ndim(item) != 1 or len(item) != 2:
                raise validate.InputError(f"reference must hold (name, value) pairs, got {item!r}")
            name = validate.choice(item[0], "reference", list(Aberrations.__dataclass_fields__))
            ref.append((name, validate.scalar(item[1], f"reference[{name!r}]", "Å or rad")))
        object.__setattr__(self, "reference", tuple(ref))

    @property
    def reference_aberrations(self) -> Aberrations:
        return Aberrations(**dict(self.reference))


@pytree.dataclass
class PtychoParams:
    """Free parameters of the reconstruction (all pytree leaves, with units).

    Attributes:
        phase: (S, O_y, O_x) object phase φ [rad].
        absorption: (S, O_y, O_x) object absorption μ [1] (amplitude e^{−μ}).
        probe: (M, 2, N_wy, N_wx) real and imaginary parts of the Fourier-space modes P_m(k) [1].
        aberrations: fitted aberrations a (:class:`~jaxem.optics.Aberrations`).
        offsets: (P, 2) position corrections δ (y, x) [Å].
    """

    phase: Any = pytree.field(units="rad")
    absorption: Any = pytree.field(units="1")
    probe: Any = pytree.field(units="1")
    aberrations: Aberrations = pytree.field()
    offsets: Any = pytree.field(units="Å")


def _frequencies(geometry: Geometry, dtype):
    return geometry.grid.frequencies(dtype)


@validate.typed
def init_params(model: Model, n_positions: int, n_modes: int = 1, mode_power: float = 0.1,
                precision=None) -> PtychoParams:
    """Vacuum object (φ = μ = 0), the aberrated probe of the reference aberrations as mode 0 and
    M − 1 further modes Ψ_0·(k_y/k₀), Ψ_0·(k_x/k₀), Ψ_0·((k_y² − k_x²)/k₀²), … sharing ``mode_power``
    of the unit total intensity, zero position offsets (one compiled function, not dozens of eager
    operations each compiled on its own).

    Args:
        model: the static :class:`Model`.
        n_positions: P probe positions (≥ 1).
        n_modes: M incoherent probe modes (1 … 32).
        mode_power: intensity fraction [1] shared by the modes 1 … M − 1 (0 … 0.9).
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32).
    """
    validate.instance(model, "model", Model, "a ptycho.Model")
    n_positions = validate.integer(n_positions, "n_positions", lo=1)
    n_modes = validate.integer(n_modes, "n_modes", lo=1, hi=32)
    mode_power = validate.scalar(mode_power, "mode_power", "", lo=0.0, hi=0.9)
    rdtype, _ = accel.dtypes(precision)
    return _init_params(model, n_positions, n_modes, mode_power, np.dtype(rdtype).name)


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _init_params(model: Model, n_positions: int, n_modes: int, mode_power: float, precision: str) -> PtychoParams:
    g = model.geometry
    rdtype, cdtype = accel.dtypes(precision)
    p0 = probe_transfer(g.grid, g.beam, g.semiangle, model.reference_aberrations, g.edge_width,
                        precision=precision).astype(cdtype)
    ky, kx = _frequencies(g, rdtype)
    k0 = g.beam.mrad_to_frequency(g.semiangle)
    kyy, kxx = ky[:, None] / k0, kx[None, :] / k0
    shapes = [jnp.ones_like(kyy * kxx), kyy + 0 * kxx, kxx + 0 * kyy, kyy ** 2 - kxx ** 2, 2 * kyy * kxx,
              kyy ** 2 + kxx ** 2 - 0.5]
    n = g.window[0] * g.window[1]
    modes = []
    for m in range(n_modes):
        f = shapes[m] if m < len(shapes) else jnp.cos(np.pi * m * kyy) * jnp.cos(np.pi * (m + 1) * kxx)
        pm = p0 * f
        power = (1.0 - mode_power) if m == 0 else mode_power / max(n_modes - 1, 1)
        if n_modes == 1:
            power = 1.0
        pm = pm * jnp.sqrt(power * n / jnp.sum(jnp.abs(pm) ** 2))  # Σ_r |ψ_m|² = power
        modes.append(jnp.stack([pm.real, pm.imag]))
    shape = (model.n_slices,) + tuple(g.object_shape)
    return PtychoParams(phase=jnp.zeros(shape, rdtype), absorption=jnp.zeros(shape, rdtype),
                        probe=jnp.stack(modes).astype(rdtype), aberrations=model.reference_aberrations,
                        offsets=jnp.zeros((n_positions, 2), rdtype))


def _check_params(params, *model):
    """``params`` (and the ``model`` if given) have the right types (a public boundary's first check)."""
    validate.instance(params, "params", PtychoParams, "a ptycho.PtychoParams (from ptycho.init_params)")
    for m in model:
        validate.instance(m, "model", Model, "a ptycho.Model")


@validate.typed
def probe_spectra(params: PtychoParams, model: Model):
    """Fourier-space modes Ψ_m(k) (M, N_wy, N_wx), complex, FFT order."""
    _check_params(params, model)
    g = model.geometry
    rdtype, cdtype = accel.dtypes_of(params.probe)
    ky, kx = _frequencies(g, rdtype)
    lam = g.beam.wavelength
    dchi = (chi_from_frequencies(params.aberrations, ky, kx, lam)
            - chi_from_frequencies(model.reference_aberrations, ky, kx, lam))
    p = (params.probe[:, 0] + 1j * params.probe[:, 1]).astype(cdtype)
    return p * jnp.exp(-1j * dchi.astype(rdtype))[None]


def transmissions(params: PtychoParams):
    """Object transmission slices t_s = exp(iφ_s − μ_s) (S, O_y, O_x)."""
    _check_params(params)
    _, cdtype = accel.dtypes_of(params.phase)
    return jnp.exp((1j * params.phase - params.absorption).astype(cdtype))


@validate.typed
def model_amplitudes(params: PtychoParams, model: Model, positions, index):
    """Model amplitudes √I_p(k) (B, N_dy, N_dx) at the probe positions ``positions[index]``.

    Args:
        params: :class:`PtychoParams`.
        model: static :class:`Model`.
        positions: (P, 2) nominal positions (y, x) [Å] relative to the object origin.
        index: (B,) int positions to model.
    """
    _check_params(params, model)
    validate.array(positions, "positions", ndim=2, shape=(None, 2), kind="real", units="Å")
    validate.array(index, "index", ndim=1, kind="integer")
    n = np.shape(params.offsets)[0] if np.ndim(params.offsets) == 2 else None
    if n is not None and np.shape(positions)[0] != n:
        raise validate.InputError(f"positions has {np.shape(positions)[0]} rows but params.offsets {n}: one per "
                                  f"probe position")
    if not validate.is_traced(index) and np.size(index):
        lo, hi = int(np.min(np.asarray(index))), int(np.max(np.asarray(index)))
        if lo < 0 or hi >= np.shape(positions)[0]:
            raise validate.InputError(f"index must lie in [0, {np.shape(positions)[0] - 1}] (the positions), got "
                                      f"values from {lo} to {hi}")
    return _model_amplitudes(params, model, positions, index)


@partial(jax.jit, static_argnames=("model",))
def _model_amplitudes(params: PtychoParams, model: Model, positions, index):
    g = model.geometry
    rdtype, cdtype = accel.dtypes_of(params.phase)
    ky, kx = _frequencies(g, rdtype)
    wy, wx = g.window
    oy, ox = g.object_shape
    spectra = probe_spectra(params, model)
    trans = transmissions(params)
    # periodic cell: pad by one window with its own wrap-around, so every window is a dynamic_slice
    # (its transpose, a dynamic_update_slice, compiles and runs far cheaper than a gather/scatter)
    source = jnp.pad(trans, ((0, 0), (0, wy), (0, wx)), mode="wrap") if g.periodic else trans
    prop = fresnel_propagator(g.grid, g.beam, float(model.slice_thickness), cdtype)
    seq = jnp.arange(model.n_slices, dtype=jnp.int32)
    offsets = params.offsets - jnp.mean(params.offsets, axis=0)
    rows_d, cols_d = (jnp.asarray(i) for i in g.detector_indices)
    samp = jnp.asarray(g.sampling, rdtype)
    half = jnp.asarray([wy // 2, wx // 2], rdtype)

    def one(i):
        r = positions[i].astype(rdtype) + offsets[i]
        c = r / samp
        fl = jax.lax.stop_gradient(jnp.floor(c))
        psi = jnp.fft.ifft2(spectra * phase_ramp(ky, kx, (half + c - fl) * samp)[None])
        start = fl.astype(jnp.int32) - jnp.asarray([wy // 2, wx // 2], jnp.int32)
        if g.periodic:  # the wrapped object: a window starting anywhere in the cell is one slice of it
            start = jnp.mod(start, jnp.asarray([oy, ox], jnp.int32))
        patch = jax.lax.dynamic_slice(source, (jnp.zeros((), jnp.int32), start[0], start[1]), (model.n_slices, wy, wx))
        exits = jax.vmap(lambda p: multislice_array(p, patch, seq, prop))(psi)
        f = jnp.fft.fft2(exits)[:, rows_d][:, :, cols_d]
        inten = jnp.sum(f.real ** 2 + f.imag ** 2, axis=0) / (wy * wx)
        return jnp.sqrt(inten + 1e-12)

    return jax.vmap(one)(index)


def amplitude_error(model_amp, data_amp, weights, mask):
    """Normalised amplitude error Σ w m (√I_model − √I)² / Σ w m I (py4DSTEM's ptychography error
    when m = w = 1): (B, N_d, N_d) amplitudes, (B,) frame weights, (N_d, N_d) pixel mask."""
    validate.array(model_amp, "model_amp", ndim=3, kind="real")
    validate.array(data_amp, "data_amp", ndim=3, kind="real")
    validate.array(weights, "weights", ndim=1, kind="real")
    validate.array(mask, "mask", ndim=2, kind="numeric")
    b, nd = np.shape(data_amp)[0], tuple(np.shape(data_amp)[1:])
    if tuple(np.shape(model_amp)) != tuple(np.shape(data_amp)):
        raise validate.InputError(f"model_amp {tuple(np.shape(model_amp))} and data_amp {tuple(np.shape(data_amp))} "
                                  f"must have the same shape")
    if np.shape(weights)[0] != b or tuple(np.shape(mask)) != nd:
        raise validate.InputError(f"weights must have shape ({b},) and mask {nd} to match data_amp "
                                  f"{tuple(np.shape(data_amp))}, got {tuple(np.shape(weights))} and "
                                  f"{tuple(np.shape(mask))}")
    num = jnp.sum(weights[:, None, None] * mask[None] * (model_amp - data_amp) ** 2)
    den = jnp.sum(weights[:, None, None] * mask[None] * data_amp ** 2)
    return num / den
