"""exp(iφ) for the transmission function, the one complex exponential of every slice.

Why our own: a frozen-snapshot multislice (TACAW, FRFPMS, frozen phonons) builds a new transmission
function exp(iσv) for every snapshot and slice, and on the CPU backend XLA evaluates ``jnp.exp`` of a
complex64 array (and ``cos``/``sin`` of a float32 one) at about 8 ns per pixel on this project's
2-core machine: as long as one FFT of the same array (benchmarks/phonon_spectroscopy.py). A
branch-free polynomial that XLA fuses into one loop is 3× faster at the same accuracy, so here it is.

Method (float32): Cody–Waite reduction φ = q·π/2 + r with |r| ≤ π/4 and π/2 split in three parts
(1.5703125 + 4.837512969970703125e-4 + 7.54978995489188216e-8, the first two exact in few bits so
q·part is exact for |q| < 2¹⁵), then the classic minimax polynomials of sin and cos on [−π/4, π/4]
(coefficients of the Cephes single-precision library, S. L. Moshier), and the quadrant q mod 4
picks (±sin r, ±cos r). Measured error against float64 ``numpy.exp(1j·φ)``: ≤ 1.5e-7 for |φ| ≤ 100
(tests/test_cis.py), i.e. at float32 round-off. Beyond |φ| ≈ 2¹⁵·π/2 the products q·part are no
longer exact and the error grows like |φ|·6e-8 — the size of the float32 rounding of φ itself, so
nothing is lost that the input still had (a transmission phase σv is a few rad to a few hundred).

float64 (and any other dtype) uses ``jnp.exp`` unchanged: float64 references stay what they were.
The derivative is the exact one, d cis(φ) = i·cis(φ)·dφ (a custom JVP), so gradients through the
transmission function do not see the polynomial's error.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["cis", "exp_i"]

_C1, _C2, _C3 = np.float32(1.5703125), np.float32(4.837512969970703125e-4), np.float32(7.54978995489188216e-8)
_TWO_OVER_PI = np.float32(2 / np.pi)
_S = (np.float32(-1.6666654611e-1), np.float32(8.3321608736e-3), np.float32(-1.9515295891e-4))
_C = (np.float32(4.166664568298827e-2), np.float32(-1.388731625493765e-3), np.float32(2.443315711809948e-5))


def _cis32(phi):
    q = jnp.round(phi * _TWO_OVER_PI)
    r = ((phi - q * _C1) - q * _C2) - q * _C3
    r2 = r * r
    s = r + r * r2 * (_S[0] + r2 * (_S[1] + r2 * _S[2]))
    c = 1 - np.float32(0.5) * r2 + r2 * r2 * (_C[0] + r2 * (_C[1] + r2 * _C[2]))
    quad = jnp.bitwise_and(q.astype(jnp.int32), 3)
    swap = jnp.bitwise_and(quad, 1) == 1
    cos_v = jnp.where(swap, s, c)
    sin_v = jnp.where(swap, c, s)
    cos_v = jnp.where((quad == 1) | (quad == 2), -cos_v, cos_v)
    sin_v = jnp.where(quad >= 2, -sin_v, sin_v)
    return jax.lax.complex(cos_v, sin_v)


@jax.custom_jvp
def cis(phi):
    """exp(iφ) of a real array φ [rad]: complex64 for float32 φ (the fast path above), else
    ``jnp.exp(1j·φ)`` in φ's precision."""
    phi = jnp.asarray(phi)
    if phi.dtype == jnp.float32:
        return _cis32(phi)
    return jnp.exp(1j * phi)


@cis.defjvp
def _cis_jvp(primals, tangents):
    (phi,), (dphi,) = primals, tangents
    out = cis(phi)
    return out, out * (1j * dphi).astype(out.dtype)


def exp_i(z):
    """exp(i·z) for a real or complex array z (complex z = φ + iμ gives e^{−μ}·cis(φ), the absorptive
    transmission function); complex64/float32 inputs take the fast :func:`cis` path."""
    z = jnp.asarray(z)
    if jnp.iscomplexobj(z):
        phase = cis(z.real)
        return phase * jnp.exp(-z.imag).astype(phase.dtype)
    return cis(z)
