"""HRTEM image formation with partial coherence, from an exit wave.

Given an exit wave ψ_e(r) (…, ny, nx) on a :class:`~jaxem.grid.Grid`, the objective lens forms the
image wave ψ_i = IFFT[Ψ_e(k) · A(λk) · exp(−iχ(k))] (:mod:`.ctf`); the recorded intensity is
|ψ_i|² averaged over the partially coherent illumination and then blurred incoherently
(:mod:`.detector`). Three models, chosen by ``method``:

``"coherent"``
    I = |IFFT[Ψ_e A e^{−iχ}]|² (no focal spread or source size).
``"envelope"`` (quasi-coherent; Kirkland 2010 §3.3, Dr. Probe ``wavimg`` model 6)
    I = |IFFT[Ψ_e A e^{−iχ} E_t E_s]|². Exact for the linear (weak-object) part of the image;
    damps the non-linear (dark-field) interference terms too strongly for thick specimens.
``"focal_average"``
    I = Σ_j w_j |IFFT[Ψ_e A e^{−iχ(k; C10 + δ_j)} E_s(k; C10 + δ_j)]|², an incoherent average over a
    Gaussian defocus distribution of rms Δ by Gauss–Hermite quadrature (δ_j = √2 Δ x_j,
    w_j = ω_j/√π with (x_j, ω_j) the ``n_focal``-point Gauss–Hermite rule). Exact for all terms
    (to quadrature accuracy) in the focal spread; the source-size spread still enters as the
    quasi-coherent envelope E_s of each partial wave. Nodes are evaluated under ``vmap`` in
    batches sized from the memory budget (``jaxem.accel``), accumulated by ``lax.scan``.

``"linear"`` (linear imaging, the linear-envelope TCC model; Dr. Probe ``wavimg`` model 3)
    With the exit wave split into its central beam and the rest, Ψ_e(k) = N c₀ δ_k0 + Ψ_s(k)
    (c₀ the mean of ψ_e, N the number of pixels), only the interference of every beam with the
    central beam is kept:
    I = |c₀ H(0)|² + 2 Re[(c₀ H(0))* · IFFT[Ψ_s H]],  H = A e^{−iχ} E_t E_s,
    i.e. the transmission cross-coefficient TCC(k, 0) = H(k) H*(0) (Ishizuka 1980; Kirkland 2010
    §6.7). The neglected non-linear term is |IFFT[Ψ_s H]|²; adding it back with these envelopes
    gives exactly the ``"envelope"`` image, so the two models agree to first order in the
    scattered wave and differ by the (dark-field) self-interference of the scattered beams: small
    for weak objects, large for thick, strongly scattering crystals (then I may even be negative).
``"explicit"`` (Dr. Probe ``wavimg`` model 2: explicit averaging of coherent sub-images)
    I = Σ_{j,l} w_j w_l |IFFT[Ψ_e^{(j)}(q) A(q + K_j) e^{−i[χ(q + K_j; C10 + δ_l) − χ(K_j; C10 + δ_l)]}]|²,
    K_j = β_j/λ,
    over incident-beam tilts β_j and defocus offsets δ_l. Tilts: a Gaussian distribution
    p(β) ∝ exp(−|β|²/θ_s²) with θ_s = ``source_angle`` the 1/e half-width [mrad] (std θ_s/√2 per
    Cartesian component, the convention of E_s and of ``wavimg``'s s_c), integrated by the
    ``n_tilt`` × ``n_tilt`` tensor-product Gauss–Hermite rule β_j = θ_s (x_a, x_b), w_j = w_a w_b
    (:func:`tilt_nodes`), exact for polynomials of degree < 2·n_tilt in each component. Defocus:
    the ``n_focal`` rule of ``"focal_average"``. Every node is a coherent image, so all cross terms
    and non-linearities are kept; no envelope is applied. The exit wave of the frame that follows
    the tilted beam (``jaxem.propagate`` convention: the carrier exp(2πi β·r/λ) factored out) is
    ``exit_wave`` itself when ``tilted_exit_waves`` is False — the object then does not depend on
    the tilt (projection approximation, thin specimens) — or, with ``tilted_exit_waves=True``,
    ``exit_wave[j]`` recomputed by multislice for node j
    (:func:`jaxem.propagate.multislice_tilts`, which :class:`jaxem.hrtem.HRTEMModel` uses). The
    constant phase χ(β_j/λ) is subtracted (it does not change |·|²). Nodes run under ``vmap`` in
    batches sized by the memory budget, accumulated by ``lax.scan``; the product weights are
    rounded so that they sum to exactly 1 (vacuum image exactly 1 while all tilts pass the
    aperture).

Afterwards image spread and detector MTF multiply the Fourier transform of the intensity.
A vacuum exit wave (all ones) gives an image of exactly 1 (for an aperture containing k = 0,
a normalised MTF and any envelope, since E_t(0) = E_s(0) = 1).

Beam tilt: the exit wave of a tilted beam is carried in the frame that follows the beam
(:mod:`jaxem.propagate`), so the lens is evaluated at the angles α = λk + β₀ with β₀ the beam tilt
(``waves.beam.tilt``) and the constant χ(β₀) dropped. This is exact for every coherent sub-image
(``"coherent"``, ``"focal_average"`` without source spread, ``"explicit"``, whose tilt nodes are then
centred on β₀); the quasi-coherent envelopes assume an untilted beam, so ``"envelope"``, ``"linear"``
and a source spread in ``"focal_average"`` refuse a tilted beam (use ``"explicit"``).

Two levels: :func:`image_intensity` is pure (a :class:`~jaxem.propagate.Waves` pytree in, an array out;
jit/grad/vmap-able, used by the HRTEM fits) and :func:`hrtem_image` is the front door returning a
:class:`~jaxem.measurement.Measurement` (axes y, x in Å; metadata: beam, aberrations, aperture,
spreads, with units).

Precision: complex64/float32 by default, complex128/float64 for a complex128 exit wave or
``precision`` = any float64 alias of ``accel.PRECISION_ALIASES``.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..measurement import Measurement, real_space_axes
from ..measurement import batch_axes as _batch_axes
from ._checks import check_aberrations
from .aberrations import Aberrations, chi_cartesian
from .apertures import aperture_function, as_aperture, check_on_grid
from .ctf import transfer_function
from .series import all_zero, find_series, substitute
from .detector import DetectorMTF, blur_intensity, check_image_spread

METHODS = ("envelope", "focal_average", "coherent", "linear", "explicit")


#: most Gauss–Hermite nodes of a focal (or other 1-D) average; more add nothing but cost
MAX_NODES = 256
#: most tilt nodes per axis (n_tilt² images)
MAX_TILT_NODES = 32


def gauss_hermite(n: int, bits: int = 52):
    """Nodes x_j and normalised weights w_j (Σ w_j = 1) so that E[f(δ)] ≈ Σ_j w_j f(√2 Δ x_j) for
    δ ~ N(0, Δ²) (numpy's physicists' Hermite rule divided by √π).

    The weights are rounded to multiples of 2^−``bits`` with an exact sum of 1, so that their
    floating-point sum is exactly 1 in any order (24 bits for float32, 52 for float64): a vacuum
    image stays exactly 1.
    """
    n = validate.integer(n, "n (Gauss–Hermite nodes)", lo=1, hi=MAX_NODES)
    x, w = np.polynomial.hermite.hermgauss(n)
    return x, _round_weights(w / math.sqrt(math.pi), bits)


def _round_weights(w, bits):
    """Weights rounded to multiples of 2^−bits whose exact sum is 1 (any summation order)."""
    q = 2**bits
    wi = np.round(np.asarray(w, np.float64) / np.sum(w) * q).astype(np.int64)
    wi[np.argmax(wi)] += q - int(wi.sum())
    return wi.astype(np.float64) / q


def tilt_nodes(n_tilt: int, bits: int = 52):
    """Unit tilt nodes u_j (n_tilt², 2) (y, x) and weights w_j (Σ w_j = 1) so that
    E[f(β)] ≈ Σ_j w_j f(θ_s u_j) for β ~ p(β) ∝ exp(−|β|²/θ_s²) (θ_s the 1/e half-width).

    The tensor product of the ``n_tilt``-point Gauss–Hermite rule with itself (each component of β
    is Gaussian with std θ_s/√2, and ∫ e^{−x²} f(x) dx ≈ Σ ω_a f(x_a) with β = θ_s x); exact for
    polynomials of degree ≤ 2 n_tilt − 1 in each component. Weights rounded as in
    :func:`gauss_hermite`. The node order is row-major in (y, x); for odd ``n_tilt`` the centre
    node (0, 0) is number n_tilt²//2.
    """
    if isinstance(n_tilt, bool) or not isinstance(n_tilt, (int, np.integer)) or not 1 <= n_tilt <= MAX_TILT_NODES:
        raise validate.InputError(f"n_tilt must be an integer in [1, {MAX_TILT_NODES}] (Gauss–Hermite nodes per tilt "
                                  f"axis), got {n_tilt!r}")
    x, w = np.polynomial.hermite.hermgauss(int(n_tilt))
    uy, ux = np.meshgrid(x, x, indexing="ij")
    return np.stack([uy.ravel(), ux.ravel()], axis=1), _round_weights(np.outer(w, w).ravel(), bits)


_BITS = {"float32": 24, "float64": 52}  # mantissa bits for the exact-sum weights


def _waves(waves, name="exit_wave"):
    from ..propagate.waves import Waves, check_waves

    if not isinstance(waves, Waves):
        raise validate.InputTypeError(
            f"{name} must be jaxem Waves (they carry the grid and the beam), got {type(waves).__name__}; wrap an "
            f"array with jaxem.propagate.waves_from_array(array, grid, beam)")
    return check_waves(waves, name)


@validate.typed
def image_intensity(waves, aberrations: Aberrations | None = None, *, objective_aperture=None, focal_spread=0.0,
                    source_angle=0.0, image_spread=None, mtf: DetectorMTF | None = None,
                    method: str = "focal_average", n_focal: int = 16, n_tilt: int = 3,
                    tilted_exit_waves: bool = False, precision=None, memory_budget=None):
    """HRTEM image intensity of exit waves with partial coherence, image spread and MTF (pure level).

    Args:
        waves: exit :class:`~jaxem.propagate.Waves` (…, ny, nx) (dimensionless; vacuum = 1); a pytree,
            so its array may be traced (inside ``jit``/``grad``). Their beam sets λ and the tilt.
        aberrations: objective-lens :class:`Aberrations` (C10 = −Δf [Å], C30 = Cs [Å], …; None: none).
        objective_aperture: semi-angle [mrad] (hard edge), an ``Aperture``, or None (no aperture);
            within the grid's Nyquist angle.
        focal_spread: rms focal spread Δ [Å], ≥ 0.
        source_angle: 1/e half-width θ_s of the illumination-angle distribution [mrad], ≥ 0.
        image_spread: Gaussian image spread σ [Å] or (σ_y, σ_x) [Å], ≥ 0, or None.
        mtf: :class:`DetectorMTF` or None.
        method: ``"focal_average"`` (default), ``"envelope"``, ``"coherent"``, ``"linear"`` or
            ``"explicit"`` (see the module docstring).
        n_focal: number of Gauss–Hermite defocus nodes for ``"focal_average"`` (static, ≥ 1). The
            error falls quickly with n once n exceeds a few times b = π λ Δ k_max² (k_max the
            largest transmitted frequency): for b ≈ 4, 8/16/24 nodes give 1e-2/1e-6/1e-12
            relative error against a dense defocus integral (``tests/optics/test_imaging.py``).
            ``"explicit"`` uses it too (defocus nodes of every tilt node). With a concrete
            ``focal_spread`` of 0 one node is used (exact).
        n_tilt: Gauss–Hermite tilt nodes per axis for ``"explicit"`` (n_tilt² nodes; static, ≥ 1).
        tilted_exit_waves: ``"explicit"`` only: ``waves`` have a leading axis of n_tilt² exit
            waves, one per node of :func:`tilt_nodes` (same order), each computed for the incident
            tilt θ_s·u_j [mrad] relative to the beam (``jaxem.propagate.multislice_tilts``).
        precision: any alias of ``accel.PRECISION_ALIASES``; None follows the waves.
        memory_budget: bytes (or '2G') for batching focal (and tilt) nodes and series elements
            (default from ``accel``).

    Series: any aberration coefficient, ``focal_spread`` or ``source_angle`` may be a 1-D array of n
    values (a focal series: ``Aberrations(C10=np.array([...]))``); the result then has a leading
    series axis, (n, …, ny, nx), computed in one jitted call (:mod:`jaxem.optics.series`: several
    series are zipped and must have the same length).

    Returns:
        real intensity ([n,] …, ny, nx) (without the tilt-node axis for ``tilted_exit_waves``).
    """
    waves = _waves(waves, "waves")
    grid, beam = waves.grid, waves.beam
    ab = check_aberrations(aberrations)
    ap = as_aperture(objective_aperture, "objective_aperture")
    check_on_grid(ap, grid, beam, "objective_aperture")
    series = find_series(ab, focal_spread, source_angle)  # checks the coherence parameters too
    image_spread = check_image_spread(image_spread)
    if mtf is not None:
        DetectorMTF.check(mtf, "mtf")
    method = validate.choice(method, "method", METHODS)
    n_focal = validate.integer(n_focal, "n_focal (Gauss–Hermite nodes)", lo=1, hi=MAX_NODES)
    tilt_nodes(n_tilt)  # validates n_tilt
    tilted = any(beam.tilt)
    if tilted:
        beam.check_tilt(grid)
        if method in ("envelope", "linear") or (method == "focal_average" and not all_zero(source_angle)):
            raise validate.InputError(
                f"method={method!r}{' with a source_angle' if method == 'focal_average' else ''} assumes an untilted "
                f"beam, but the waves' beam is tilted by {beam.tilt} mrad; use method='explicit' (or 'coherent', "
                "or 'focal_average' with source_angle=0)")
    shape = jnp.shape(waves.array)
    if tilted_exit_waves:
        if method != "explicit":
            raise validate.InputError(f"tilted_exit_waves=True needs method='explicit', got method={method!r}")
        if len(shape) < 3 or shape[0] != n_tilt**2:
            raise validate.InputError(f"with tilted_exit_waves=True the waves must have shape "
                                      f"(n_tilt² = {n_tilt**2}, …, ny, nx), got {tuple(shape)}")
    if method in ("focal_average", "explicit") and all_zero(focal_spread):
        n_focal = 1  # every defocus node gives the same image
    if method not in ("focal_average", "explicit"):
        n_focal = 1

    rdtype, cdtype = accel.dtypes(accel.select_precision(precision, waves.array))
    wave = jnp.asarray(waves.array).astype(cdtype)
    bs, per_image = 1, 4 * wave.size * wave.dtype.itemsize
    if method == "focal_average":
        bs = accel.batch_size(per_image, n_focal, memory_budget, cpu_cap=accel.cpu_working_set())
        per_image *= bs
    elif method == "explicit":
        per_node = 4 * (wave.size // (n_tilt**2 if tilted_exit_waves else 1)) * wave.dtype.itemsize
        bs = accel.batch_size(per_node, n_focal * n_tilt**2, memory_budget, cpu_cap=accel.cpu_working_set())
        per_image = max(per_image, per_node * bs)
    params = (ab, ap, focal_spread, source_angle, image_spread, mtf)
    names, values, series_batch = (), (), 1
    if series is not None:  # one image per series element: lax.map over memory-sized vmapped batches
        names, values = series.names, tuple(jnp.asarray(v, rdtype) for v in series.values)
        series_batch = accel.batch_size(per_image, series.length, memory_budget, cpu_cap=accel.cpu_working_set())
    return _image(wave, params, values, grid=grid, beam=beam, method=method, n_focal=int(n_focal), batch=int(bs),
                  n_tilt=int(n_tilt), per_tilt=bool(tilted_exit_waves), series=names, series_batch=int(series_batch))


@validate.typed
def hrtem_image(exit_wave, aberrations: Aberrations | None = None, *, objective_aperture=None, focal_spread=0.0,
                source_angle=0.0, image_spread=None, mtf: DetectorMTF | None = None, method: str = "focal_average",
                n_focal: int = 16, n_tilt: int = 3, tilted_exit_waves: bool = False, precision=None,
                memory_budget=None, batch_axes=None) -> Measurement:
    """The HRTEM image of ``exit_wave`` as the microscope records it: a Measurement with (y, x) axes
    in Å and the imaging conditions, with units, in its metadata.

    ``jx.hrtem_image(exit_wave, jx.Aberrations(C10=-50.0, C30=-1e4), focal_spread=30, objective_aperture=25)``

    Args:
        exit_wave: exit :class:`~jaxem.propagate.Waves` (…, ny, nx) (their beam sets λ and the tilt).
        aberrations … memory_budget: as in :func:`image_intensity` (lengths Å, angles mrad).
        batch_axes: the leading axes of ``exit_wave``, names or calibrated :class:`~jaxem.measurement.Axis`
            (e.g. the thickness of each exit plane; default batch0, batch1, … [pixels]).

    A focal (or other) series — an aberration coefficient, ``focal_spread`` or ``source_angle`` given as
    a 1-D array, e.g. ``Aberrations(C10=np.array([-100., -50., 0.]))`` — puts a series axis first:
    ``defocus`` [Å] (Δf = −C10) or the parameter's name and units when the values are evenly spaced,
    else ``series`` [index]; the values of every series parameter are in ``metadata["series"]``
    (:mod:`jaxem.optics.series`).

    Returns:
        :class:`~jaxem.measurement.Measurement` of the intensity (vacuum = 1).
    """
    waves = _waves(exit_wave)
    img = image_intensity(waves, aberrations, objective_aperture=objective_aperture, focal_spread=focal_spread,
                          source_angle=source_angle, image_spread=image_spread, mtf=mtf, method=method,
                          n_focal=n_focal, n_tilt=n_tilt, tilted_exit_waves=tilted_exit_waves, precision=precision,
                          memory_budget=memory_budget)
    series = find_series(check_aberrations(aberrations), focal_spread, source_angle)
    leading = _batch_axes(img.ndim - 2 - (series is not None), batch_axes)
    if series is not None:
        leading = (series.axis(),) + leading
    ap = as_aperture(objective_aperture, "objective_aperture")

    def quantity(value, units):
        if value is None or validate.is_traced(value):
            return None
        return {"value": np.asarray(value, float).tolist(), "units": units}

    meta = {
        "quantity": "image intensity (vacuum = 1)",
        "beam": waves.beam.to_dict(), "energy": waves.energy,
        "aberrations": check_aberrations(aberrations).to_metadata(),
        "objective_aperture": None if ap is None else ap.to_metadata(),
        "focal_spread": quantity(focal_spread, "Å"), "source_angle": quantity(source_angle, "mrad"),
        "image_spread": quantity(image_spread, "Å"), "mtf": None if mtf is None else mtf.to_metadata(),
        "method": method, "n_focal": int(n_focal), "n_tilt": int(n_tilt),
    }
    if series is not None:
        meta["series"] = series.metadata()
    return Measurement(img, leading + real_space_axes(waves.grid), meta)


@functools.partial(jax.jit, static_argnames=("grid", "beam", "method", "n_focal", "batch", "n_tilt", "per_tilt",
                                             "series", "series_batch"))
def _image(wave, params, series_values=(), *, grid, beam, method, n_focal, batch, n_tilt=3, per_tilt=False,
           series=(), series_batch=1):
    """The image (…, ny, nx) or, for a series (names ``series``, values ``series_values``), the stack
    (n, …, ny, nx): the single-condition image mapped over the series in batches of ``series_batch``."""
    kw = dict(grid=grid, beam=beam, method=method, n_focal=n_focal, batch=batch, n_tilt=n_tilt, per_tilt=per_tilt)
    if not series:
        return _one_image(wave, params, **kw)
    ab, ap, focal_spread, source_angle, image_spread, mtf = params
    def one(values):
        abj, fsj, saj = substitute(series, ab, focal_spread, source_angle, values)
        return _one_image(wave, (abj, ap, fsj, saj, image_spread, mtf), **kw)

    return jax.lax.map(one, series_values, batch_size=series_batch)


def _one_image(wave, params, *, grid, beam, method, n_focal, batch, n_tilt, per_tilt):
    ab, ap, focal_spread, source_angle, image_spread, mtf = params
    dtype, _ = accel.dtypes_of(wave)
    wavelength = beam.wavelength
    wave_k = jnp.fft.fft2(wave)
    ky, kx = grid.frequencies(dtype)
    # the lens sees the angles α = λk + β₀ (β₀ the beam tilt [rad]); χ(β₀) is a constant phase
    ky = ky[:, None] + beam.tilt[0] * 1e-3 / wavelength
    kx = kx[None, :] + beam.tilt[1] * 1e-3 / wavelength
    if method == "coherent":
        h = transfer_function(ab, ky, kx, wavelength, ap)
        intensity = jnp.abs(jnp.fft.ifft2(wave_k * h)) ** 2
    elif method == "envelope":
        h = transfer_function(ab, ky, kx, wavelength, ap, focal_spread, source_angle)
        intensity = jnp.abs(jnp.fft.ifft2(wave_k * h)) ** 2
    elif method == "linear":
        intensity = _linear_image(wave_k, transfer_function(ab, ky, kx, wavelength, ap, focal_spread, source_angle))
    elif method == "explicit":
        intensity = _explicit_average(wave_k, ab, ky, kx, wavelength, ap, focal_spread, source_angle, n_focal,
                                      n_tilt, per_tilt, dtype, batch)
    else:
        intensity = _focal_average(wave_k, ab, ky, kx, wavelength, ap, focal_spread, source_angle, n_focal,
                                   dtype, batch)
    return blur_intensity(intensity.astype(dtype), grid, image_spread, mtf)


def _focal_average(wave_k, ab, ky, kx, lam, ap, focal_spread, source_angle, n_focal, dtype, bs):
    x, w = gauss_hermite(n_focal, _BITS[accel.precision_of(jnp.zeros((), dtype))])
    n_chunks = -(-n_focal // bs)
    pad = n_chunks * bs - n_focal
    x = np.concatenate([x, np.zeros(pad)]).reshape(n_chunks, bs)
    w = np.concatenate([w, np.zeros(pad)]).reshape(n_chunks, bs)
    scale = math.sqrt(2.0) * jnp.asarray(focal_spread, dtype)
    base_c10 = jnp.asarray(ab.C10, dtype)

    def one(xj, wj):
        abj = ab.replace(C10=base_c10 + scale * xj)
        h = transfer_function(abj, ky, kx, lam, ap, 0.0, source_angle)
        return wj * jnp.abs(jnp.fft.ifft2(wave_k * h)) ** 2

    def body(acc, chunk):
        xs, ws = chunk
        return acc + jnp.sum(jax.vmap(one)(xs, ws), axis=0), None

    acc, _ = jax.lax.scan(body, jnp.zeros(wave_k.shape, dtype), (jnp.asarray(x, dtype), jnp.asarray(w, dtype)))
    return acc


def _linear_image(wave_k, h):
    """Linear image |c₀H(0)|² + 2 Re[(c₀H(0))* IFFT[Ψ_s H]] (module docstring, ``"linear"``)."""
    n = wave_k.shape[-1] * wave_k.shape[-2]
    c0 = (wave_k[..., 0, 0] / n * h[0, 0])[..., None, None]
    scattered = jnp.fft.ifft2(wave_k.at[..., 0, 0].set(0) * h)
    return jnp.abs(c0) ** 2 + 2 * jnp.real(jnp.conj(c0) * scattered)


def _explicit_average(wave_k, ab, ky, kx, lam, ap, focal_spread, source_angle, n_focal, n_tilt, per_tilt, dtype,
                      bs):
    """Σ over (tilt, defocus) nodes of weighted coherent images (module docstring, ``"explicit"``)."""
    bits = _BITS[accel.precision_of(jnp.zeros((), dtype))]
    u, wt = tilt_nodes(n_tilt)
    xf, wf = gauss_hermite(n_focal)
    n_t, n_f = len(wt), len(wf)
    w = _round_weights(np.outer(wt, wf).ravel(), bits)
    it = np.repeat(np.arange(n_t), n_f)
    cols = [it, u[it, 0], u[it, 1], np.tile(xf, n_t), w]
    n = n_t * n_f
    n_chunks = -(-n // bs)
    pad = n_chunks * bs - n
    cols = [np.concatenate([c, np.zeros(pad, c.dtype)]).reshape(n_chunks, bs) for c in cols]
    theta = jnp.asarray(source_angle, dtype) * 1e-3
    scale = math.sqrt(2.0) * jnp.asarray(focal_spread, dtype)
    base_c10 = jnp.asarray(ab.C10, dtype)
    ly, lx = lam * ky, lam * kx
    out_shape = wave_k.shape[1:] if per_tilt else wave_k.shape

    def one(j, uy, ux, xj, wj):
        ay = ly + theta * uy + jnp.zeros_like(lx)
        ax = lx + theta * ux + jnp.zeros_like(ly)
        x = chi_cartesian(ab.replace(C10=base_c10 + scale * xj), ay, ax, lam)
        h = jnp.exp(-1j * (x - x[0, 0]).astype(dtype))
        if ap is not None:
            h = h * aperture_function(1e3 * ay, 1e3 * ax, ap)
        wk = wave_k[j] if per_tilt else wave_k
        return wj * jnp.abs(jnp.fft.ifft2(wk * h.astype(wave_k.dtype))) ** 2

    def body(acc, chunk):
        j, uy, ux, xj, wj = chunk
        return acc + jnp.sum(jax.vmap(one)(j, uy, ux, xj, wj), axis=0), None

    xs = (jnp.asarray(cols[0], jnp.int32),) + tuple(jnp.asarray(c, dtype) for c in cols[1:])
    acc, _ = jax.lax.scan(body, jnp.zeros(out_shape, dtype), xs)
    return acc
