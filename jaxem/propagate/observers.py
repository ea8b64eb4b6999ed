"""Observers: what to record or reduce while a wave goes through the slices.

:func:`jaxem.propagate.multislice_array` is the one slice step of jaxem. Everything a caller wants
to see *inside* the specimen — exit waves at several thicknesses, detector signals of a thickness
series, the single-inelastic TDS signal of an absorptive model — is an *observer* run in the same
``lax.scan``, never a second copy of the step.

An observer is a :func:`jaxem.pytree.dataclass` with two pure methods::

    obs = observer.init(psi)                      # before the first slice (psi: the incident wave)
    obs = observer.update(obs, psi, slice_index)  # after every slice

``slice_index`` is the position in the slice sequence of the slice just applied (a traced int32,
0 … n_slices − 1), so ``psi`` has passed ``slice_index + 1`` slices. Static fields (slice counts,
norms, the beam) are part of the compiled function's signature and must be hashable; array fields
(detector masks, potentials) are traced leaves, so an observer can be built inside ``jit`` and
differentiated through. ``multislice_array(..., observer=o)`` returns ``(psi_exit, obs)``.
Combine several with :class:`Observers` (the state is then a tuple, in the same order).

Recording at given slice counts uses ``lax.cond`` on the (unbatched) slice counter, so under
``vmap`` over waves only the recorded slices pay for the recording.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import pytree, validate
from ..beam import Beam


def _slot(slices, slice_index):
    """(hit, slot): whether ``slice_index + 1`` is one of ``slices`` and its position there."""
    hits = jnp.asarray(slices, jnp.int32) == slice_index + 1
    return jnp.any(hits), jnp.argmax(hits)


def _record(buf, slices, slice_index, value_fn):
    hit, slot = _slot(slices, slice_index)
    return jax.lax.cond(hit, lambda b: b.at[slot].set(value_fn().astype(b.dtype)), lambda b: b, buf)


def _slices(value, name: str = "slices") -> tuple:
    """A static tuple of slice counts: integers ≥ 1, strictly ascending."""
    try:
        items = tuple(value)
    except TypeError:
        raise validate.InputTypeError(f"{name} must be a tuple of slice counts (integers ≥ 1), got {value!r}") from None
    out = tuple(validate.integer(v, name, lo=1) for v in items)
    if not out or any(b <= a for a, b in zip(out, out[1:])):
        raise validate.InputError(f"{name} must be a non-empty, strictly ascending tuple of slice counts, got {value!r}")
    return out


@pytree.dataclass
class ExitPlanes:
    """Record the wave after each of ``slices`` (static tuple of slice counts, ascending, ≥ 1);
    state: (len(slices), ny, nx) complex buffer."""

    slices: tuple = pytree.field(static=True)

    def __post_init__(self):
        object.__setattr__(self, "slices", _slices(self.slices))

    def init(self, psi):
        return jnp.zeros((len(self.slices),) + psi.shape, psi.dtype)

    def update(self, buf, psi, slice_index):
        return _record(buf, self.slices, slice_index, lambda: psi)


@pytree.dataclass
class DetectorIntegrals:
    """Detector signals Σ_k M_d(k) |F[ψ](k)|² / (N · norm) after each of ``slices``.

    Attributes:
        masks: (D, ny, nx) real detector weights on the *unshifted* reciprocal grid (zero frequency at
            [0, 0]), e.g. annular masks (traced leaf).
        slices: static tuple of slice counts at which to record (a thickness series).
        norm: incident intensity Σ|ψ_in|² (static; 1 for a normalised probe), so signals are fractions
            of the incident beam.
    State: (len(slices), D) real.
    """

    masks: jnp.ndarray
    slices: tuple = pytree.field(static=True)
    norm: float = pytree.field(static=True, default=1.0)

    def __post_init__(self):
        object.__setattr__(self, "slices", _slices(self.slices))
        object.__setattr__(self, "norm", validate.scalar(self.norm, "norm", positive=True, allow_traced=False))

    def init(self, psi):
        return jnp.zeros((len(self.slices), self.masks.shape[0]), self.masks.dtype)

    def update(self, buf, psi, slice_index):
        def signal():
            n = psi.shape[-1] * psi.shape[-2]
            dp = jnp.abs(jnp.fft.fft2(psi)) ** 2 / (n * self.norm)
            return jnp.tensordot(self.masks, dp.astype(self.masks.dtype), axes=((1, 2), (0, 1)))

        return _record(buf, self.slices, slice_index, signal)


@pytree.dataclass
class AbsorbedIntensity:
    """Flux that an absorptive potential v′ removes, Σ_n 2σ Σ_r |ψ_n(r)|² v′_d,n(r), with ψ_n the wave
    entering slice n: with a detector-specific v′_d this is the single-inelastic thermal diffuse
    signal that detector d collects (Allen, Findlay, Oxley & Rossouw, Ultramicroscopy 96 (2003) 47),
    as a fraction of the incident beam for a probe with Σ|ψ|² = 1.

    Attributes:
        absorptive: (D, n_unique, ny, nx) absorptive potentials v′ [V·Å] of the distinct slices (traced).
        sequence: (n_slices,) int array, index into ``absorptive`` of each slice (the potential's sequence).
        beam: the :class:`~jaxem.beam.Beam` (σ; static).
        slices: static tuple of slice counts at which to record the running sum, or None for the total.
    State: ``(total (D,), recorded (len(slices), D))``, or ``total (D,)`` with ``slices=None``.
    """

    absorptive: jnp.ndarray
    sequence: jnp.ndarray
    beam: Beam = pytree.field(static=True)
    slices: tuple | None = pytree.field(static=True, default=None)

    def _term(self, psi, position):
        v = self.absorptive[:, self.sequence[position]]
        return (2 * self.beam.sigma) * jnp.tensordot(v, (jnp.abs(psi) ** 2).astype(v.dtype), axes=((1, 2), (0, 1)))

    def init(self, psi):
        total = self._term(psi, 0)
        if self.slices is None:
            return total
        return total, jnp.zeros((len(self.slices), total.shape[0]), total.dtype)

    def update(self, obs, psi, slice_index):
        n = self.sequence.shape[0]
        nxt = jnp.minimum(slice_index + 1, n - 1)
        more = (slice_index + 1 < n).astype(self.absorptive.dtype)
        if self.slices is None:
            return obs + more * self._term(psi, nxt)
        total, buf = obs
        buf = _record(buf, self.slices, slice_index, lambda: total)  # terms of the slices passed so far
        return total + more * self._term(psi, nxt), buf


@pytree.dataclass
class Observers:
    """Several observers run together; the state is the tuple of their states."""

    members: tuple

    def __post_init__(self):
        members = self.members
        if isinstance(members, (str, bytes, dict)) or not isinstance(members, (tuple, list)):
            raise validate.InputTypeError(f"members must be a tuple of observers, got {type(members).__name__}")
        for i, o in enumerate(members):
            if not (callable(getattr(o, "init", None)) and callable(getattr(o, "update", None))):
                raise validate.InputTypeError(f"members[{i}] must be an observer (with init and update), got "
                                              f"{type(o).__name__}")
        object.__setattr__(self, "members", tuple(members))

    def init(self, psi):
        return tuple(o.init(psi) for o in self.members)

    def update(self, obs, psi, slice_index):
        return tuple(o.update(s, psi, slice_index) for o, s in zip(self.members, obs))
