"""Direct phase retrieval as kernels on G(q, k): SSB, OBF and parallax (with upsampling).

Under the weak-phase-object approximation (object exp(iσφ) ≈ 1 + iσφ, probe ψ = A·exp(−iχ)),
the scan-Fourier-transformed bright-field data normalised by the mean pattern intensity are

    Ĝ(q, k) = i σφ̃(q) Γ̂(q, k),   Γ̂(q, k) = ψ̂*(k) ψ̂(k − q) − ψ̂(k) ψ̂*(k + q),

with ψ̂ = ψ / sqrt(Σ_BF|ψ|²) (derivation in Yang, Ercius, Nellist & Ophus, Ultramicroscopy 171
(2016) 117). Every method is a weighted sum over bright-field pixels k, in batches of pixels sized
by the memory budget (``jaxem.accel.batch_size``) and accumulated with ``lax.scan``. The probe
ψ(k) = A(λk)·exp(−iχ(k)) and the shifts s_k come from :mod:`jaxem.optics` through
:mod:`jaxem.phase.geometry`:

* SSB (phase compensated):  φ̃(q) = ½ Σ_k (−i) Ĝ Γ̂*/|Γ̂|            transfer ½ Σ_k |Γ̂|
* OBF (phase object):       φ̃(q) = Σ_k (−i) Ĝ Γ̂*/d_k / (2 sqrt(S)),  S = Σ_k |Γ̂|²/d_k, d_k = |ψ̂(k)|²
                                                                      transfer ½ sqrt(S)
  (complex object, the default of :func:`obf`: phase and amplitude jointly, "Complex object" below)
* parallax (tilt-corrected BF): φ̃(q) = ½ Σ_k Ĝ exp(−2πi q·s_k),  s_k = ∇χ(k)/2π [Å]
                                                                      transfer ≈ [|ψ̂|⋆|ψ̂|](q)·sin χ(q)
  optional phase flip: × sgn(sin χ(q)).

Parallax pixel weights. Each G(·, k) may carry a weight w_k; the transfer is then

    T_w(q) = Σ_k w_k |ψ(k)||ψ(k − q)| / Σ_k |ψ(k)|² · sin χ(q)

(exact for a quadratic χ, where χ(k) − χ(k ∓ q) = ±q·∇χ(k) ∓ χ(q), and a centro-symmetric set of
pixels). ``w_k = 1`` (the images as I/I₀) weights every channel by its intensity, so the soft edge of
the aperture — the only pixels k whose partner k − q is inside the disk at the largest q — hardly
counts and T falls towards 2k_probe like the aperture autocorrelation. The tilt-corrected bright
field normalises each vBF image by its own mean, v_k/⟨v_k⟩ (its contrast; Spoth et al., Microsc.
Microanal. 23 (2017) 804; Yu et al., Ultramicroscopy (2024)), i.e. w_k ∝ 1/⟨v_k⟩ ≈ 1/|ψ(k)|²: edge
channels count as much as central ones, T_w falls more slowly and the flipped image is closer to the
object. Dividing by a mean close to zero amplifies the Poisson noise of the outermost pixels
(variance ⟨v_k⟩/I₀ per position, so ∝ 1/⟨v_k⟩ after division), so the division is regularised:

    w_k ∝ 1/(⟨v_k⟩ + ε·max_k⟨v_k⟩),   normalised to Σ_k w_k⟨v_k⟩ = Σ_k⟨v_k⟩,

ε = ``contrast_floor`` (:func:`contrast_weights`; ε → ∞ is the intensity weighting). Measured on the
issue-20 dataset (128² × 64², 300 kV, 20 mrad, C10 = −150 Å, white-noise object σφ = 0.01 rad,
noise-free and with Poisson noise of 10⁶/10⁵/10⁴ e⁻ per pattern), correlation of the flipped image
with the band-limited phase: intensity weights 0.669/0.646/0.500/0.223; ε = 0: 0.743/0.290/0.112/nan
(a pixel with no counts); ε = 0.01: 0.690/0.658/0.491/0.209; ε = 0.03 (default): 0.684/0.656/0.502/0.219;
ε = 0.1: 0.678/0.653/0.505/0.224.

SSB and OBF pixel weights. The same weights w_k enter SSB and OBF as weights of the channels G(·, k):

    SSB:  φ̃(q) = ½ Σ_k w_k (−i) Ĝ Γ̂*/|Γ̂|,                          T_w(q) = ½ Σ_k w_k |Γ̂|
    OBF:  φ̃(q) = Σ_k w_k (−i) Ĝ Γ̂*/d_k / (2 sqrt(S_w)),  S_w = Σ_k w_k² |Γ̂|²/d_k,
                                                   T_w(q) = ½ Σ_k w_k |Γ̂|²/d_k / sqrt(S_w)

(:func:`jaxem.phase.transfer.stack_transfer` with ``weights=`` evaluates both from the aperture and
χ). SSB has no noise normalisation, so its transfer is the weighted sum of |Γ̂|. OBF divides by the
noise of what it sums: channel k has Poisson variance ∝ d_k = |ψ̂(k)|² (∝ ⟨v_k⟩; using the measured
⟨v_k⟩ instead changes the correlations below by < 0.001), so w_k·G has variance w_k²·d_k and the noise of the weighted sum is S_w; the image
keeps white noise of the same level at any weights (the OBF normalisation). At w_k = 1 this is the
optimal (matched) filter, and S_w reduces to S. The matched filter does not change when the channels
are rescaled (the weights of channels c_k = w_k·G with their own noise w_k²d_k are Γ̂*/(w_k d_k)), so
weights other than 1 cannot raise OBF's signal-to-noise ratio at any q: they only reshape T_w(q),
which flattens it (better correlation without noise) at a cost in SNR that already shows at 10⁶ e⁻.
SSB is not an optimal filter, and the contrast weights improve it at every dose but the lowest.
Correlation with the band-limited phase on the issue-20 dataset (as above; one Poisson realisation
per dose; ``contrast_floor`` ε):

    ============  ==========  ======  ======  ======
    weights        noise-free   10⁶     10⁵     10⁴
    ============  ==========  ======  ======  ======
    SSB w_k = 1     0.766     0.762   0.724   0.514
    SSB ε = 0.003   0.799     0.791   0.726   0.455
    SSB ε = 0.01    0.789     0.783   0.735   0.496
    SSB ε = 0.02    0.785     0.779   0.736   0.507
    SSB ε = 0.03*   0.782     0.777   0.736   0.511
    SSB ε = 0.05    0.780     0.775   0.735   0.515
    SSB ε = 0.1     0.776     0.771   0.733   0.517
    OBF w_k = 1*    0.877     0.869   0.806   0.511
    OBF ε = 0.003   0.938     0.749   0.352   0.125
    OBF ε = 0.01    0.903     0.813   0.488   0.186
    OBF ε = 0.03    0.868     0.832   0.631   0.279
    OBF ε = 0.1     0.854     0.839   0.738   0.405
    ============  ==========  ======  ======  ======

(* the defaults: :func:`ssb` ε = 0.03, better at 10⁵ e⁻ and above and within the spread of the
Poisson realisations at 10⁴ e⁻, where ε = 0.03 − (w_k = 1) was −0.003, +0.002, −0.003 over three;
:func:`obf` w_k = 1.) Multiplying OBF's channels by w_k but keeping the normalisation sqrt(S) (not
the noise of the weighted sum, and no longer OBF) gives 0.975/0.837/0.467/0.161 at ε = 0.03: the
noise-free gain of a flatter transfer, lost as soon as there is noise.

Complex object (OBF, ``object_type="complex"``, the default). A real specimen also has amplitude
contrast (absorption, thickness): for the object exp(a + iσφ) ≈ 1 + a + iσφ the data are

    Ĝ(q, k) = c_φ(q, k)·σφ̃(q) + c_a(q, k)·ã(q),   c_φ = iΓ̂,  c_a = ψ̂*(k)ψ̂(k − q) + ψ̂(k)ψ̂*(k + q),

two unknowns per scan frequency. The single-channel filter above reads the amplitude term as phase
wherever Σ_k c_φ*c_a/d_k ≠ 0. The complex OBF solves the per-frequency normal equations with the
Poisson weights 1/d_k — signal Gram S_ij = Σ_k w_k c_i*c_j/d_k, noise Gram N_ij = Σ_k w_k² c_i*c_j/d_k,
right-hand side b_i = Σ_k w_k c_i*Ĝ/d_k — in unit-diagonal scaling with a ridge ρ = ``COMPLEX_RIDGE``
(where the two columns are nearly parallel the data cannot separate them), and divides each channel
by its noise standard deviation, so its noise is white like OBF's (the "optimum bright field" of
each channel; for one column it is the filter above). At w_k = 1, ρ = 0 the phase transfer is
½ sqrt(S_φφ − |S_φa|²/S_aa) ≤ ½ sqrt(S_φφ): lower where the columns overlap (mostly low q), i.e.
flatter, and the phase channel no longer sees a. quantem documents its ``DirectPtychography``
kernel ``"obf"`` as the same kind of estimator ("solves the per-frequency least-squares problem and
divides each channel by its noise standard deviation"); the equations here are derived from the
weak-object model above, not taken from its code. Correlation with the
band-limited phase on the issue-20 dataset (as above; one Poisson realisation per dose):

    ===================  ==========  ======  ======  ======
    OBF                   noise-free   10⁶     10⁵     10⁴
    ===================  ==========  ======  ======  ======
    phase object          0.877      0.869   0.803   0.500
    complex object*       0.886      0.878   0.806   0.491
    ===================  ==========  ======  ======  ======

(on a pure phase object the single-channel filter keeps more SNR at the lowest dose; with amplitude
contrast it is biased — ``tests/phase/test_obf_complex.py``: on exp(a + iφ) with independent white
noise a and φ of equal strength, the phase-only image correlates 0.029 with a, the complex one 0.005,
and 0.85 vs 0.89 with φ). ``return_amplitude=True`` returns the amplitude channel too.

The images are in radians of σφ filtered by the transfer function. With ``upsampling`` u > 1 each
G(·, k) is tiled u×u in Fourier space (equivalent to scattering the vBF image onto a u-times finer
grid), so the output has sampling Δr/u. All kernels are jit-compiled and differentiable with respect
to the aberrations and the rotation θ [rad].
"""
from __future__ import annotations

import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..optics.aberrations import Aberrations, chi_from_frequencies
from . import geometry
from .stack import CPU_BATCH_BYTES, BFStack

METHODS = ("ssb", "obf", "parallax")
#: object models of :func:`obf`
OBJECT_TYPES = ("complex", "phase")
#: ridge ρ on the unit-diagonal Gram of the complex-object OBF (module docstring, "Complex object")
COMPLEX_RIDGE = 1e-3


def fine_frequencies(scan_shape, scan_sampling, upsampling: int = 1, dtype=jnp.float32):
    """Scan-frame frequencies (qy, qx) [1/Å] (1D, FFT order) of the u-times upsampled scan grid."""
    u = int(upsampling)
    return (jnp.asarray(np.fft.fftfreq(u * scan_shape[0], scan_sampling[0] / u), dtype),
            jnp.asarray(np.fft.fftfreq(u * scan_shape[1], scan_sampling[1] / u), dtype))


def gamma(ab, k, qy, qx, wavelength, cutoff, edge, norm, orders=None):
    """Γ̂(q, k) for bright-field pixels ``k`` (b, 2) [1/Å] on the q grid (qy, qx) [1/Å]: (b, ny, nx)."""
    ky = k[:, 0][:, None, None]
    kx = k[:, 1][:, None, None]
    qy2, qx2 = qy[None, :, None], qx[None, None, :]
    pk = geometry.probe_at(ab, ky, kx, wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
    pm = geometry.probe_at(ab, ky - qy2, kx - qx2, wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
    pp = geometry.probe_at(ab, ky + qy2, kx + qx2, wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
    return jnp.conj(pk) * pm - pk * jnp.conj(pp)


def _safe_abs(z, floor):
    m2 = jnp.real(z) ** 2 + jnp.imag(z) ** 2
    ok = m2 > floor**2
    return jnp.sqrt(jnp.where(ok, m2, 1.0)), ok


def _batches(n, per_item, memory_budget):
    b = accel.batch_size(per_item, n, memory_budget, cpu_cap=CPU_BATCH_BYTES)
    return b, -(-n // b)


def _terms(method, g, ww, kk, qy, qx, ab, n, norm, wavelength, cutoff, edge, orders, scan_sampling, u,
           round_shifts):
    """Σ over a batch of pixels ``kk`` (b, 2) of kernel(q, k)·G(q, k) on the grid (qy, qx) (1D, any
    subset of the fine scan frequencies) for G ``g`` (b, len(qy), len(qx)) (already multiplied by the
    pixel weights w_k); ``ww`` (b,): the weights of the normalisation sum (w_k² for OBF: the noise
    variance of the weighted channel w_k·G is w_k²·d_k); returns (num, den)."""
    rdt = kk.dtype
    if method == "parallax":
        s = geometry.parallax_shifts(ab, kk[:, 0], kk[:, 1], wavelength)
        if round_shifts:
            d = jnp.asarray([scan_sampling[0] / u, scan_sampling[1] / u], rdt)
            s = jnp.round(s / d) * d
        ramp = jnp.exp(-2j * jnp.pi * (qy[None, :, None] * s[:, 0, None, None]
                                        + qx[None, None, :] * s[:, 1, None, None]))
        return jnp.sum(g * ramp, 0), 0.0
    if method == "obf_complex":
        return _complex_terms(g, ww, kk, qy, qx, ab, n, norm, wavelength, cutoff, edge, orders)
    gam = gamma(ab, kk, qy, qx, wavelength, cutoff, edge, norm, orders)
    if method == "ssb":
        mag, ok = _safe_abs(gam, 1e-6 / n)
        wgt = jnp.where(ok, jnp.conj(gam) / mag, 0.0)
        return jnp.sum(-1j * g * wgt, 0), 0.0
    if method == "obf":  # OBF: probe-intensity (Poisson) noise weighting d_k = |ψ̂(k)|²
        pk = geometry.probe_at(ab, kk[:, 0], kk[:, 1], wavelength, cutoff, edge, orders)
        d = jnp.maximum(jnp.abs(pk) ** 2 / norm, 1e-3 / n)[:, None, None]
    else:  # "lsq": the normal equations Σ_k Γ̂*G and Σ_k |Γ̂|² (jaxem.phase.wiener)
        d = 1.0
    num = jnp.sum(-1j * g * jnp.conj(gam) / d, 0)
    den = jnp.sum(ww[:, None, None] * (jnp.abs(gam) ** 2) / d, 0)
    return num, den


def complex_columns(ab, k, qy, qx, wavelength, cutoff, edge, norm, n, orders=None):
    """Columns of the complex weak object for bright-field pixels ``k`` (b, 2) [1/Å] on the q grid
    (qy, qx): Ĝ(q, k) = c_φ·σφ̃(q) + c_a·ã(q) with c_φ = iΓ̂, c_a = ψ̂*(k)ψ̂(k − q) + ψ̂(k)ψ̂*(k + q),
    and the Poisson variances d_k = |ψ̂(k)|² (floored at 10⁻³/n, ``n`` the number of bright-field
    pixels, as for OBF): (c_φ, c_a, d), each (b, ny, nx)."""
    ky, kx = k[:, 0][:, None, None], k[:, 1][:, None, None]
    qy2, qx2 = qy[None, :, None], qx[None, None, :]
    pk = geometry.probe_at(ab, ky, kx, wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
    pm = geometry.probe_at(ab, ky - qy2, kx - qx2, wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
    pp = geometry.probe_at(ab, ky + qy2, kx + qx2, wavelength, cutoff, edge, orders) / jnp.sqrt(norm)
    a, b = jnp.conj(pk) * pm, pk * jnp.conj(pp)
    d = jnp.maximum(jnp.abs(pk) ** 2, 1e-3 / n)
    return 1j * (a - b), a + b, d


def complex_gram(c0, c1, d, w, w2):
    """Signal Gram Σ_k w_k c_i*c_j/d_k and noise Gram Σ_k w_k² c_i*c_j/d_k of the two columns, stacked
    (6, ny, nx) as (S_φφ, S_aa, S_φa, N_φφ, N_aa, N_φa); ``w``, ``w2`` (b,) the weights and their squares."""
    gram = [jnp.abs(c0) ** 2 / d, jnp.abs(c1) ** 2 / d, jnp.conj(c0) * c1 / d]
    w, w2 = w[:, None, None], w2[:, None, None]
    return jnp.stack([jnp.sum(w * x, 0) for x in gram] + [jnp.sum(w2 * x, 0) for x in gram])


def _complex_terms(g, ww, kk, qy, qx, ab, n, norm, wavelength, cutoff, edge, orders):
    """Normal equations of the complex-object OBF for a batch of pixels: numerators (2, …) and
    the signal/noise Gram entries (6, …) (module docstring, "Complex object")."""
    c0, c1, d = complex_columns(ab, kk, qy, qx, wavelength, cutoff, edge, norm, n, orders)
    num = jnp.stack([jnp.sum(g * jnp.conj(c0) / d, 0), jnp.sum(g * jnp.conj(c1) / d, 0)])
    # ``g`` already carries w_k; ``ww`` holds w_k² (the noise Gram), and w_k ≥ 0 (contrast weights)
    return num, complex_gram(c0, c1, d, jnp.sqrt(jnp.maximum(ww, 0.0)), ww)


def _solve_complex(num, den, ridge, transfer=False):
    """Phase and amplitude spectra of the complex-object OBF from the per-frequency normal equations
    (module docstring, "Complex object"): ridge ρ on the unit-diagonal signal Gram, each channel
    divided by its noise standard deviation. ``transfer``: the gain of each channel on its own
    unknown instead (``num`` is not read)."""
    m, nz = (jnp.real(den[0]), jnp.real(den[1])), (jnp.real(den[3]), jnp.real(den[4]))
    tiny = 1e-12
    ok = (m[0] > tiny, m[1] > tiny)
    sq = tuple(jnp.sqrt(jnp.where(o, x, 1.0)) for o, x in zip(ok, m))
    both = ok[0] & ok[1]
    r = jnp.where(both, den[2] / (sq[0] * sq[1]), 0.0)             # S_φa of the unit-diagonal Gram
    c = tuple(jnp.where(o, x / (q * q), 0.0) for o, x, q in zip(ok, nz, sq))   # noise, same scaling
    c_pa = jnp.where(both, den[5] / (sq[0] * sq[1]), 0.0)
    one = 1.0 + ridge
    out = []
    for i, (rr, cab) in enumerate(((r, c_pa), (jnp.conj(r), jnp.conj(c_pa)))):
        j = 1 - i
        # row i of (Mn + ρI)⁻¹ up to its determinant (which cancels): (1+ρ, −r) in (own, other) order
        if transfer:   # E[b] = Mn·(s ⊙ u): gain on the own unknown
            est = (one - jnp.abs(rr) ** 2) * jnp.where(ok[i], sq[i], 0.0)
        else:
            b_own = jnp.where(ok[i], num[i] / sq[i], 0.0)
            b_other = jnp.where(ok[j], num[j] / sq[j], 0.0)
            est = one * b_own - rr * b_other
        var = one * one * c[i] - 2.0 * one * jnp.real(rr * jnp.conj(cab)) + jnp.abs(rr) ** 2 * c[j]
        good = ok[i] & (var > tiny)
        out.append(jnp.where(good, est / jnp.sqrt(jnp.where(good, var, 1.0)), 0.0))
    return out[0], out[1]


@partial(jax.jit, static_argnames=("method", "upsampling", "b", "nb", "wavelength", "cutoff", "edge",
                                   "transpose", "scan_sampling", "round_shifts", "orders"))
def _kernel_sum(V, k_det, ab, rotation, weights=None, *, method, upsampling, b, nb, wavelength, cutoff, edge,
                transpose, scan_sampling, round_shifts=False, orders=None):
    """Σ_k kernel(q, k)·G(q, k) over the vBF stack ``V`` (n, Sy, Sx); G = FFT of each mean-removed vBF
    image, computed batch by batch (only the real stack and one batch of G are in memory).

    The images are real, so G(−q, k) = G*(q, k), and every kernel has the symmetry that makes each
    term Hermitian (Γ̂(−q, k) = −Γ̂*(q, k); the parallax ramp of a real shift): the sum is evaluated on
    the half plane of columns 0 … Nx/2 (FFT order, the Nyquist column at its usual negative
    frequency) and the other columns are its conjugate mirror. When Ny is even the Nyquist row's
    mirrored columns are evaluated directly (its index is its own mirror), so the spectrum is the
    same as a direct evaluation at every frequency. ``weights`` (n,): per-pixel weights w_k of G
    (None: 1)."""
    rdt = k_det.dtype
    n, sy, sx = V.shape
    u = upsampling
    ny, nx = u * sy, u * sx
    nh = nx // 2 + 1
    qy, qx = fine_frequencies((sy, sx), scan_sampling, u, rdt)
    kyr, kxr = geometry.rotate_frequencies(k_det[:, 0], k_det[:, 1], rotation, transpose)
    k = jnp.stack([kyr, kxr], -1)
    norm = jnp.sum(geometry.aperture_amplitude(k_det[:, 0], k_det[:, 1], wavelength, cutoff, edge) ** 2)
    extra_row = ny % 2 == 0 and nh < nx
    terms = partial(_terms, method, n=n, norm=norm, wavelength=wavelength, cutoff=cutoff, edge=edge,
                    orders=orders, scan_sampling=scan_sampling, u=u, round_shifts=round_shifts)

    def body(acc, j):
        # batch j covers pixels [j·b, (j+1)·b); the last one is moved back to end at n and the pixels
        # that the previous batch already summed get weight 0 (no padded copy of the stack)
        start = jnp.minimum(j * b, n - b)
        v = jax.lax.dynamic_slice_in_dim(V, start, b)
        g = jnp.fft.fft2(v - jnp.mean(v, axis=(1, 2), keepdims=True))
        kk = jax.lax.dynamic_slice_in_dim(k, start, b)
        ww = (start + jnp.arange(b) >= j * b).astype(rdt)
        gw = ww if weights is None else ww * jax.lax.dynamic_slice_in_dim(weights, start, b)
        g = jnp.tile(g, (1, u, u)) * gw[:, None, None]
        dw = ww * gw * gw  # Σ_k w_k² |Γ̂|²/d_k: the noise variance of Σ_k w_k Γ̂* G/d_k (÷ dose)
        num, den = terms(g[:, :, :nh], dw, kk, qy, qx[:nh], ab)
        out = [acc[0] + num, acc[1] + den]
        if extra_row:
            num_r, den_r = terms(g[:, ny // 2:ny // 2 + 1, nh:], dw, kk, qy[ny // 2:ny // 2 + 1], qx[nh:], ab)
            out += [acc[2] + num_r, acc[3] + den_r]
        return tuple(out), None

    _, cdt = accel.dtypes(rdt)
    # complex-object OBF: two numerators (phase, amplitude) and six Gram entries (complex)
    lead_n, lead_d, ddt = ((2,), (6,), cdt) if method == "obf_complex" else ((), (), rdt)
    acc0 = (jnp.zeros(lead_n + (ny, nh), cdt), jnp.zeros(lead_d + (ny, nh), ddt))
    if extra_row:
        acc0 += (jnp.zeros(lead_n + (1, nx - nh), cdt), jnp.zeros(lead_d + (1, nx - nh), ddt))
    acc, _ = jax.lax.scan(body, acc0, jnp.arange(nb))
    # the other columns: X(−q) = X*(q) (num), D(−q) = D*(q) (the normalisations; real for 1 channel)
    rows = (-jnp.arange(ny)) % ny
    cols = nx - jnp.arange(nh, nx)

    def mirror(x):
        return jnp.concatenate([x, jnp.conj(x[..., rows, :][..., cols])], -1)

    num, den = mirror(acc[0]), mirror(acc[1])
    if extra_row:
        num = num.at[..., ny // 2, nh:].set(acc[2][..., 0, :])
        den = den.at[..., ny // 2, nh:].set(acc[3][..., 0, :])
    if method == "obf":
        ok = den > 1e-12
        num = jnp.where(ok, num / jnp.sqrt(jnp.where(ok, den, 1.0)), 0.0)
    elif method == "obf_complex":
        num = jnp.stack(_solve_complex(num, den, COMPLEX_RIDGE))
    num = num.at[..., 0, 0].set(0.0)
    return num.astype(cdt) * (u * u) / 2, den


@validate.typed
def reconstruct_spectrum(stack: BFStack, method: str = "ssb", aberrations: Aberrations | None = None,
                         rotation=0.0, upsampling: int = 1, memory_budget=None, round_shifts: bool = False,
                         weights=None, object_type: str = "complex"):
    """Fourier transform φ̃(q) (u·Sy, u·Sx) of a direct reconstruction (see module docstring).

    Args:
        stack: virtual bright-field stack.
        method: 'ssb', 'obf' or 'parallax'.
        aberrations: known probe aberrations (C10 = −defocus [Å], …).
        rotation: detector rotation θ [rad] (finite; may be traced).
        upsampling: integer output upsampling u ≥ 1 (output sampling Δr/u [Å]).
        memory_budget: bytes (or '2G') for the bright-field batches (default: accel policy).
        round_shifts: parallax only: round shifts to the output grid (the streaming reducer's form).
        weights: per-pixel weights w_k (N_bf,) of the vBF images (default 1, the intensity
            weighting; :func:`contrast_weights` for the contrast normalisation). OBF normalises by
            the noise of the weighted channels, sqrt(Σ_k w_k²|Γ̂|²/d_k) (module docstring).
        object_type: OBF only: ``"complex"`` (default; the phase channel of the joint phase and
            amplitude estimate) or ``"phase"`` (the single-channel filter); see :func:`obf`.
    """
    if not isinstance(stack, BFStack):
        raise validate.InputTypeError(f"stack must be a BFStack (phase.bright_field_stack), got {type(stack).__name__}")
    method = validate.choice(method, "method", METHODS)
    object_type = validate.choice(object_type, "object_type", OBJECT_TYPES)
    weights = _check_weights(weights, stack)
    if method == "obf" and object_type == "complex":
        return _complex_spectra(stack, aberrations, rotation, upsampling, memory_budget, weights)[0]
    return _spectra(stack, method, aberrations, rotation, upsampling, memory_budget, round_shifts, weights)[0]


def check_pixel_weights(weights, n: int, dtype):
    """Per-pixel weights w_k (n,) as ``dtype``: real, finite and ≥ 0 (None stays None)."""
    if weights is None:
        return None
    validate.array(weights, "weights", ndim=1, shape=(n,), kind="real", finite=True)
    if not bool(np.all(np.asarray(weights) >= 0)):
        raise validate.InputError(f"weights: per-pixel weights must be ≥ 0, got min {float(np.min(weights)):.3g}")
    return jnp.asarray(weights, dtype)


def _check_weights(weights, stack):
    return check_pixel_weights(weights, stack.n_bf, stack.vbf.dtype)


def _complex_spectra(stack, aberrations, rotation, upsampling, memory_budget, weights):
    """(phase, amplitude) spectra of the complex-object OBF (2, u·Sy, u·Sx)."""
    validate.instance(stack, "stack", BFStack, "a BFStack (phase.bright_field_stack)")
    return _spectra(stack, "obf_complex", aberrations, rotation, upsampling, memory_budget, False, weights)[0]


def contrast_weights(stack: BFStack, contrast_floor: float = 0.03):
    """Per-pixel parallax weights w_k ∝ 1/(⟨v_k⟩ + ε·max_k⟨v_k⟩) (N_bf,) with Σ_k w_k⟨v_k⟩ = Σ_k⟨v_k⟩:
    each vBF image as its contrast v_k/⟨v_k⟩, regularised by ε = ``contrast_floor`` ≥ 0 where the
    mean ⟨v_k⟩ over the scan is small (module docstring). A negative mean (interpolation ringing at
    the disk edge of a rotated or resampled detector, an over-subtracted dark reference) counts as no
    intensity: ⟨v_k⟩ is clipped at 0 in the denominator, so such a pixel gets the floor's weight.
    Raises if a denominator is still ≤ 0 (a pixel with no counts at ε = 0, or no bright field)."""
    if not isinstance(stack, BFStack):
        raise validate.InputTypeError(f"stack must be a BFStack (phase.bright_field_stack), got {type(stack).__name__}")
    eps = validate.scalar(contrast_floor, "contrast_floor", nonnegative=True, allow_traced=False)
    m = jnp.mean(stack.vbf, axis=(1, 2))
    mp = jnp.maximum(m, 0.0)
    d = mp + eps * jnp.max(mp)
    if not bool(jnp.all(d > 0)):
        raise validate.InputError(f"contrast_floor: {int(jnp.sum(d <= 0))} bright-field pixel(s) have a mean "
                                  f"intensity + contrast_floor·max = {float(jnp.min(d)):.3g} ≤ 0 with contrast_floor="
                                  f"{eps:g}, which the contrast normalisation would divide by; use a larger "
                                  f"contrast_floor (or None for intensity weighting)")
    w = 1.0 / d
    return w * (jnp.sum(m) / jnp.sum(w * m))


def _spectra(stack, method, aberrations, rotation, upsampling, memory_budget, round_shifts=False, weights=None):
    """(spectrum, Σ_k weight·|Γ̂|²) of ``method`` (any of :data:`METHODS` or ``"lsq"``)."""
    u = _check_upsampling(upsampling, stack)
    ab = geometry.check_aberrations(aberrations)
    rotation = geometry.check_rotation(rotation)
    n, sy, sx = stack.vbf.shape
    per = (u * u * sy * sx) * 2 * stack.vbf.dtype.itemsize * {"parallax": 3, "obf_complex": 20}.get(method, 10)
    b, nb = _batches(n, per, memory_budget)
    return _kernel_sum(stack.vbf, stack.k_det, ab, jnp.asarray(rotation, stack.k_det.dtype), weights, method=method,
                       upsampling=u, b=b, nb=nb, wavelength=stack.wavelength, cutoff=stack.cutoff,
                       edge=stack.edge, transpose=stack.transpose, scan_sampling=stack.scan_sampling,
                       round_shifts=round_shifts, orders=geometry.active_orders(ab))


def _check_upsampling(upsampling, stack: BFStack) -> int:
    u = validate.integer(upsampling, "upsampling", lo=1)
    limit = 4.0 * stack.cutoff * max(stack.scan_sampling)
    if u > max(1.0, np.ceil(limit)):
        warnings.warn(f"upsampling {u} exceeds the bright-field limit u = 4·k_probe·Δr = {limit:.3g}: "
                      f"frequencies beyond 2·k_probe = {2 * stack.cutoff:.3g} 1/Å carry no signal, the "
                      f"extra pixels only interpolate", UserWarning, stacklevel=3)
    return u


def _image(spec):
    return jnp.real(jnp.fft.ifft2(spec))


@validate.typed
def ssb(stack: BFStack, aberrations=None, rotation=0.0, upsampling: int = 1, memory_budget=None,
        contrast_floor: float | None = 0.03):
    """Phase-compensated single-sideband image [rad] (u·Sy, u·Sx); transfer ½Σ_k w_k|Γ̂(q,k)| > 0.

    ``contrast_floor`` ε ≥ 0: channel k weighted by w_k = :func:`contrast_weights` (its contrast,
    regularised; module docstring, with the dose table); ``None``: w_k = 1 (the form before the
    weights). The transfer is :func:`jaxem.phase.transfer.stack_transfer` with the same ``weights``.
    """
    w = None if contrast_floor is None else contrast_weights(stack, contrast_floor)
    return _image(reconstruct_spectrum(stack, "ssb", aberrations, rotation, upsampling, memory_budget, weights=w))


@validate.typed
def obf(stack: BFStack, aberrations=None, rotation=0.0, upsampling: int = 1, memory_budget=None,
        contrast_floor: float | None = None, object_type: str = "complex", return_amplitude: bool = False):
    """Optimum bright-field image [rad·SNR weight] (u·Sy, u·Sx).

    ``object_type``: ``"complex"`` (default) estimates the phase and the log-amplitude of a weak
    complex object jointly at every scan frequency and returns the phase channel, noise-normalised
    (module docstring, "Complex object"): amplitude contrast (absorption, thickness) does not leak
    into the phase, and on a pure phase object the transfer is flatter (issue-20 dataset: correlation
    0.886 against 0.877). ``"phase"``: the single-channel optimal filter of Ooe et al. for a pure phase
    object, transfer ½ sqrt(Σ_k |Γ̂|²/d_k), the higher SNR where the object has no amplitude.
    :func:`jaxem.phase.transfer.stack_transfer` gives either transfer (same ``object_type``).

    ``contrast_floor`` ε ≥ 0: channels weighted by w_k = :func:`contrast_weights` and normalised by
    the noise of the weighted sum (module docstring); ``None`` (default): w_k = 1, the optimal filter.
    ``return_amplitude`` (``"complex"`` only): also return the log-amplitude image ln|O| [Np·SNR
    weight], its own channel with its own noise normalisation: ``(phase, amplitude)``.
    """
    object_type = validate.choice(object_type, "object_type", OBJECT_TYPES)
    validate.flag(return_amplitude, "return_amplitude")
    if return_amplitude and object_type != "complex":
        raise validate.InputError("return_amplitude=True needs object_type='complex' (the phase-only OBF has no "
                                  "amplitude channel)")
    w = None if contrast_floor is None else contrast_weights(stack, contrast_floor)
    if object_type == "phase":
        return _image(reconstruct_spectrum(stack, "obf", aberrations, rotation, upsampling, memory_budget, weights=w,
                                           object_type="phase"))
    spec = _complex_spectra(stack, aberrations, rotation, upsampling, memory_budget, w)
    return (_image(spec[0]), _image(spec[1])) if return_amplitude else _image(spec[0])


@validate.typed
def parallax(stack: BFStack, aberrations=None, rotation=0.0, upsampling: int = 1, flip: bool = False,
             memory_budget=None, round_shifts: bool = False, contrast_floor: float | None = 0.03):
    """Parallax (tilt-corrected bright-field) image [rad] (u·Sy, u·Sx).

    Each vBF image is moved by s_k = ∇_kχ(k)/2π [Å] and summed with weight w_k. ``flip`` multiplies
    the spectrum by sgn(sin χ(q)) so that the transfer becomes positive (needs the aberrations, incl.
    C10). ``contrast_floor`` ε ≥ 0: each vBF image normalised by its own (regularised) mean,
    w_k = :func:`contrast_weights` (module docstring, with measurements); ``None``: w_k = 1 (the images
    as I/I₀, intensity weighting; the streaming reducer's form).
    """
    ab = geometry.check_aberrations(aberrations)
    for name, value in (("flip", flip), ("round_shifts", round_shifts)):
        validate.flag(value, name)
    w = None if contrast_floor is None else contrast_weights(stack, contrast_floor)
    spec = reconstruct_spectrum(stack, "parallax", ab, rotation, upsampling, memory_budget, round_shifts, w)
    if flip:
        spec = spec * flip_mask(ab, spec.shape, stack.scan_sampling, int(upsampling), stack.wavelength,
                                nyquist=int(upsampling) > 1)
    return _image(spec)


def flip_mask(ab: Aberrations, shape, scan_sampling, upsampling: int, wavelength: float, nyquist=False):
    """sgn(sin χ(q)) on the (upsampled) scan-frequency grid of ``shape``; Nyquist row/column zeroed
    when ``nyquist`` (aliasing noise of the upsampled grid). ``shape``: (u·Sy, u·Sx); scan step (dy, dx)
    [Å]; λ [Å]."""
    ab = geometry.check_aberrations(ab, name="ab")
    upsampling = validate.integer(upsampling, "upsampling", lo=1)
    shape = validate.pair(shape, "shape", kind=int, lo=upsampling)
    scan_sampling = validate.pair(scan_sampling, "scan_sampling", "Å", positive=True, allow_traced=False)
    wavelength = validate.scalar(wavelength, "wavelength", "Å", positive=True, allow_traced=False)
    sy, sx = shape[0] // upsampling, shape[1] // upsampling
    qy = jnp.asarray(np.fft.fftfreq(upsampling * sy, scan_sampling[0] / upsampling))
    qx = jnp.asarray(np.fft.fftfreq(upsampling * sx, scan_sampling[1] / upsampling))
    m = jnp.sign(jnp.sin(chi_from_frequencies(ab, qy, qx, wavelength)))
    if nyquist:
        if shape[0] % 2 == 0:
            m = m.at[shape[0] // 2, :].set(0.0)
        if shape[1] % 2 == 0:
            m = m.at[:, shape[1] // 2].set(0.0)
    return m
