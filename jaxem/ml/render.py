"""On-device rendering of noisy HRTEM images and their FFTs with spot labels (the training data).

Each sample is a canonical N × N image (N = 256, pixel 0.4 Å, so Δk = 1/(N·px) ≈ 0.00977 1/Å and the
Nyquist frequency is 1.25 1/Å: ICN2's "standardised FFT" idea) made of up to two grains drawn from a
:class:`~jaxem.ml.bank.Bank` of simulated periodic HRTEM images:

    I(r) = Σ_g m_g(r) [1 + Σ_k 2 a_k B_k cos(2π k'·(r − t_g) + φ_k)] + (1 − Σ_g m_g(r)) + α A(r)

* k' = s·R(θ)·M·k: in-plane rotation θ, isotropic scale s (lattice strain / calibration error) and an
  optional mirror M (the view from −[uvw]); t_g a random shift.
* B_k = sinc(k'·d): linear specimen drift d [Å] during the exposure (box-car blur).
* m_g: grain masks with soft edges (finite crystal size: an ellipse; a second grain takes the part
  beyond a random straight boundary). Outside the grains: vacuum-level intensity.
* A(r): amorphous background, Gaussian noise low-pass filtered to a random correlation length
  (2–5 Å), unit variance, weight α.
* Counts ~ Poisson(dose · I) with dose [e⁻/px] log-uniform in the requested range.

FFT input: F = FFT(w·(counts − mean)) with a Hann window w, x = robust z-score of log(1 + |F|)
(median, 1.4826·MAD), zero frequency centred at pixel (N/2, N/2).

Labels (the ground-truth definition, which dominates recall): a spot ±k' is *visible* when its
expected signal-to-noise ratio in |F| at the *label dose* D_L exceeds ``snr_min``:

    SNR_k(D) = D · a_k |B_k| Σ_r w m_g / σ_k(D),   σ_k² = D Σ w² ⟨I⟩ + D² α² Σ w² f(k)² / ⟨f²⟩,

(Poisson shot noise plus the amorphous power at k, f the amorphous filter), it lies at least
``dc_radius`` px from the centre and ``edge`` px inside the FFT. Positions are exact (continuous).
D_L = ``label_dose`` (default 100 e⁻/px, the highest dose of the acceptance set) makes the ground truth a
property of the specimen and the imaging, not of one exposure: the same image rendered at 2 or at 100 e⁻/px has
the same labelled spots, so a detector's recall at low dose is the fraction of the crystal's spots it still finds
(part of them only through the lattice they belong to). ``label_dose=None`` judges each image at its own dose
(the spots an ideal observer could call in that exposure; the weights before 2026-12-06 were trained so).
``Sample.snr`` is SNR_k(D_L).
Everything is jitted and vmapped: a batch never leaves the device.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from .bank import Bank

CANONICAL_N = 256
CANONICAL_PIXEL = 0.4  # [Å]
MAX_GRAINS = 2


@pytree.dataclass
class RenderConfig:
    """Static configuration of the renderer (hashable: a jit static argument).

    Attributes:
        n: image size [px]; pixel: canonical pixel size [Å].
        dose: (min, max) dose [e⁻/px], sampled log-uniformly per image.
        p_two_grains: probability of a second grain; p_full: probability that grain 1 fills the image.
        amorphous: (min, max) weight α of the amorphous background.
        drift: largest drift length [Å]; scale: largest |s − 1|.
        snr_min: label visibility threshold; label_dose: dose [e⁻/px] at which visibility is judged (None: the
            image's own dose); dc_radius, edge: excluded zones [px]; sigma: label blob σ [px].
    """

    n: int = pytree.field(static=True, default=CANONICAL_N)
    pixel: float = pytree.field(static=True, default=CANONICAL_PIXEL, units="Å")
    dose: tuple = pytree.field(static=True, default=(1.0, 200.0), units="e/px")
    p_two_grains: float = pytree.field(static=True, default=0.3)
    p_full: float = pytree.field(static=True, default=0.4)
    amorphous: tuple = pytree.field(static=True, default=(0.0, 0.3))
    drift: float = pytree.field(static=True, default=1.0, units="Å")
    scale: float = pytree.field(static=True, default=0.02)
    snr_min: float = pytree.field(static=True, default=5.0)
    label_dose: float | None = pytree.field(static=True, default=100.0, units="e/px")
    dc_radius: float = pytree.field(static=True, default=6.0)
    edge: float = pytree.field(static=True, default=3.0)
    sigma: float = pytree.field(static=True, default=1.2)

    def __post_init__(self):
        validate.integer(self.n, "n", lo=32, hi=4096)
        validate.scalar(self.pixel, "pixel", "Å", positive=True)
        for name in ("dose", "amorphous"):
            v = getattr(self, name)
            if isinstance(v, (str, bytes, dict)) or np.ndim(v) != 1 or len(v) != 2:
                raise validate.InputError(f"{name} must be a (min, max) pair, got {v!r}")
        validate.scalar(self.dose[0], "dose[0]", "e/px", positive=True)
        validate.scalar(self.dose[1], "dose[1]", "e/px", lo=self.dose[0])
        validate.scalar(self.amorphous[0], "amorphous[0]", lo=0.0)
        validate.scalar(self.amorphous[1], "amorphous[1]", lo=self.amorphous[0])
        for name in ("p_two_grains", "p_full"):
            validate.scalar(getattr(self, name), name, lo=0.0, hi=1.0)
        if self.label_dose is not None:
            validate.scalar(self.label_dose, "label_dose", "e/px", positive=True)
        for name in ("drift", "scale", "snr_min", "dc_radius", "edge", "sigma"):
            if hasattr(self, name):
                validate.scalar(getattr(self, name), name, nonnegative=True)


@pytree.dataclass
class Sample:
    """A rendered batch. Shapes: image/fft/target (B, n, n); spots (B, S, 2) as (row, col) [px] in the
    centred FFT; visible (B, S) bool; grain (B, S) int; snr (B, S); entry (B, G); rotation (B, G) [rad];
    scale (B, G); mirror (B, G) bool; present (B, G) bool; dose (B,) [e⁻/px]; shift (B, G, 2) (t_y, t_x) [Å]."""

    image: jnp.ndarray
    fft: jnp.ndarray
    target: jnp.ndarray
    spots: jnp.ndarray
    visible: jnp.ndarray
    grain: jnp.ndarray
    snr: jnp.ndarray
    entry: jnp.ndarray
    rotation: jnp.ndarray
    scale: jnp.ndarray
    mirror: jnp.ndarray
    present: jnp.ndarray
    dose: jnp.ndarray
    shift: jnp.ndarray = None


def hann(n: int, dtype=jnp.float32):
    w = 0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(n, dtype=dtype) / n)
    return w[:, None] * w[None, :]


def fft_input(image, dtype=jnp.float32):
    """Network input of image(s) (…, n, n): robust z-score of log(1 + |FFT(Hann·(I − ⟨I⟩))|), centred."""
    validate.array(image, "image", min_ndim=2, kind="real")
    if not validate.is_traced(image) and (np.shape(image)[-1] != np.shape(image)[-2] or np.shape(image)[-1] < 8):
        raise validate.InputError(f"image must be square (…, n, n) with n ≥ 8, got shape {np.shape(image)}")
    image = jnp.asarray(image, dtype)
    n = image.shape[-1]
    x = image - jnp.mean(image, axis=(-2, -1), keepdims=True)
    f = jnp.abs(jnp.fft.fftshift(jnp.fft.fft2(x * hann(n, dtype)), axes=(-2, -1)))
    lf = jnp.log1p(f)
    flat = lf.reshape(lf.shape[:-2] + (-1,))
    med = jnp.median(flat, axis=-1)[..., None, None]
    mad = jnp.median(jnp.abs(flat - med.reshape(med.shape[:-2] + (1,))), axis=-1)[..., None, None]
    return (lf - med) / (1.4826 * mad + 1e-6), f


def _ellipse_mask(key, n, pixel, p_full):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    yy, xx = jnp.meshgrid(jnp.arange(n), jnp.arange(n), indexing="ij")
    c = jax.random.uniform(k1, (2,), minval=0.3 * n, maxval=0.7 * n)
    r = jax.random.uniform(k2, (2,), minval=0.25 * n, maxval=0.6 * n)
    th = jax.random.uniform(k3, (), maxval=jnp.pi)
    dy, dx = yy - c[0], xx - c[1]
    u = (dx * jnp.cos(th) + dy * jnp.sin(th)) / r[0]
    v = (-dx * jnp.sin(th) + dy * jnp.cos(th)) / r[1]
    rho = jnp.sqrt(u * u + v * v)
    soft = jax.nn.sigmoid((1.0 - rho) * jnp.min(r) / 2.0)  # ≈ 2 px edge
    full = jax.random.bernoulli(k4, p_full)
    return jnp.where(full, 1.0, soft)


def _boundary(key, n):
    k1, k2 = jax.random.split(key)
    yy, xx = jnp.meshgrid(jnp.arange(n), jnp.arange(n), indexing="ij")
    th = jax.random.uniform(k1, (), maxval=2 * jnp.pi)
    off = jax.random.uniform(k2, (), minval=-0.2 * n, maxval=0.2 * n)
    s = (xx - n / 2) * jnp.cos(th) + (yy - n / 2) * jnp.sin(th) - off
    return jax.nn.sigmoid(s / 1.5)


def _one(key, bank: Bank, cfg: RenderConfig):
    n, px = cfg.n, cfg.pixel
    dk = 1.0 / (n * px)
    keys = jax.random.split(key, 16)
    n_entries = bank.amplitude.shape[0]
    rows = jax.random.randint(keys[0], (MAX_GRAINS,), 0, n_entries)
    present = jnp.array([True, False]) | (jnp.arange(MAX_GRAINS) == 1) & jax.random.bernoulli(keys[1], cfg.p_two_grains)
    theta = jax.random.uniform(keys[2], (MAX_GRAINS,), maxval=2 * jnp.pi)
    scale = 1.0 + jax.random.uniform(keys[3], (MAX_GRAINS,), minval=-cfg.scale, maxval=cfg.scale)
    mirror = jax.random.bernoulli(keys[4], 0.5, (MAX_GRAINS,))
    shift = jax.random.uniform(keys[5], (MAX_GRAINS, 2), maxval=100.0)
    drift = jax.random.normal(keys[6], (2,)) * cfg.drift / 2.0
    lo, hi = np.log(cfg.dose[0]), np.log(cfg.dose[1])
    dose = jnp.exp(jax.random.uniform(keys[7], (), minval=lo, maxval=hi))
    alpha = jax.random.uniform(keys[8], (), minval=cfg.amorphous[0], maxval=cfg.amorphous[1])
    corr = jax.random.uniform(keys[9], (), minval=2.0, maxval=5.0)  # [Å]

    m1 = _ellipse_mask(keys[10], n, px, cfg.p_full)
    split = _boundary(keys[11], n)
    m2 = jnp.where(present[1], m1 * split, 0.0)
    m1 = m1 - m2
    masks = jnp.stack([m1, m2])  # (G, n, n)

    k = bank.k[rows]  # (G, K, 2) (kx, ky)
    k = k.at[..., 1].multiply(jnp.where(mirror, -1.0, 1.0)[:, None])
    c, s_ = jnp.cos(theta)[:, None], jnp.sin(theta)[:, None]
    kx = scale[:, None] * (c * k[..., 0] - s_ * k[..., 1])
    ky = scale[:, None] * (s_ * k[..., 0] + c * k[..., 1])
    amp = bank.amplitude[rows] * present[:, None]
    ph = bank.phase[rows]
    blur = jnp.sinc(kx * drift[1] + ky * drift[0])
    y = (jnp.arange(n) * px)[:, None]
    x = (jnp.arange(n) * px)[None, :]

    def grain(kxg, kyg, ag, pg, bg, tg):
        # Σ_k 2 a cos(2π(kx x + ky y) + φ) = 2 Re[E_y diag(a e^{iφ'}) E_xᵀ]: one (n×K)(K×n) product
        coef = ag * bg * jnp.exp(1j * (pg - 2 * jnp.pi * (kxg * tg[1] + kyg * tg[0])))
        ey = jnp.exp(2j * jnp.pi * y * kyg[None, :])  # (n, K)
        ex = jnp.exp(2j * jnp.pi * x.T * kxg[None, :])  # (n, K)
        return 1.0 + 2.0 * jnp.real((ey * coef[None, :]) @ ex.T)

    crystal = jax.vmap(grain)(kx, ky, amp, ph, blur, shift)  # (G, n, n)
    fy = jnp.fft.fftfreq(n, d=px)[:, None]
    fx = jnp.fft.fftfreq(n, d=px)[None, :]
    filt = jnp.exp(-((fx * fx + fy * fy) * (np.pi * corr) ** 2))
    white = jax.random.normal(keys[12], (n, n))
    amorph = jnp.real(jnp.fft.ifft2(jnp.fft.fft2(white) * filt)) / jnp.sqrt(jnp.mean(filt**2))
    intensity = jnp.sum(masks * crystal, axis=0) + (1.0 - jnp.sum(masks, axis=0)) + alpha * amorph
    intensity = jnp.clip(intensity, 0.0, None)
    counts = poisson(keys[13], dose * intensity)
    x_in, _ = fft_input(counts)

    # labels: spots ±k' with expected SNR
    w = hann(n)
    sw = jnp.sum(w * w)
    ld = dose if cfg.label_dose is None else cfg.label_dose
    signal = ld * amp * jnp.abs(blur) * jnp.sum(w[None] * masks, axis=(1, 2))[:, None]
    filt_k = jnp.exp(-((kx * kx + ky * ky) * (np.pi * corr) ** 2))
    # ⟨I⟩ of the noise-free intensity (the shot-noise variance per unit dose)
    var = ld * sw * jnp.mean(intensity) + ld**2 * alpha**2 * sw * filt_k**2 / jnp.mean(filt**2)
    snr = signal / jnp.sqrt(var)
    rowp = ky / dk + n / 2
    colp = kx / dk + n / 2
    rowm = -ky / dk + n / 2
    colm = -kx / dk + n / 2
    spots = jnp.stack([jnp.stack([rowp, colp], -1), jnp.stack([rowm, colm], -1)], axis=1)  # (G, 2, K, 2)
    spots = spots.reshape(-1, 2)
    snr2 = jnp.repeat(snr[:, None, :], 2, axis=1).reshape(-1)
    grain_id = jnp.repeat(jnp.arange(MAX_GRAINS), 2 * amp.shape[1])
    radius = jnp.hypot(spots[:, 0] - n / 2, spots[:, 1] - n / 2)
    inside = jnp.all((spots >= cfg.edge) & (spots <= n - 1 - cfg.edge), axis=1)
    visible = (snr2 >= cfg.snr_min) & inside & (radius >= cfg.dc_radius)
    target = _label_map(spots, visible, n, cfg.sigma)
    return Sample(counts, x_in, target, spots, visible, grain_id, snr2, bank.entry[rows], theta, scale, mirror,
                  present, dose, shift)


def poisson(key, rate, n_terms: int = 40, switch: float = 12.0):
    """Poisson(rate) counts, fast under jit/vmap on CPU: exact CDF inversion (``n_terms`` terms) for
    rate < ``switch``, the rounded normal approximation N(rate, rate) above (its error in mean and
    variance is < 1 % there), instead of ``jax.random.poisson``'s rejection loops."""
    k1, k2 = jax.random.split(key)
    lam = jnp.minimum(rate, switch)
    u = jax.random.uniform(k1, rate.shape)

    def body(j, carry):
        p, cdf, count = carry
        count = count + (u > cdf)
        p = p * lam / (j + 1.0)
        return p, cdf + p, count

    p0 = jnp.exp(-lam)
    _, _, small = jax.lax.fori_loop(0, n_terms, body, (p0, p0, jnp.zeros_like(rate)))
    large = jnp.maximum(jnp.round(rate + jnp.sqrt(rate) * jax.random.normal(k2, rate.shape)), 0.0)
    return jnp.where(rate < switch, small, large).astype(jnp.float32)


def _label_map(spots, visible, n, sigma):
    yy = jnp.arange(n, dtype=jnp.float32)
    gy = jnp.exp(-((yy[None, :] - spots[:, 0:1]) ** 2) / (2 * sigma**2))  # (S, n)
    gx = jnp.exp(-((yy[None, :] - spots[:, 1:2]) ** 2) / (2 * sigma**2))
    gy = gy * visible[:, None]
    # max over spots of separable Gaussians (spots of one image are ≥ a few px apart)
    return jnp.clip(jnp.einsum("si,sj->ij", gy, gx), 0.0, 1.0)


@validate.typed
def render_batch(key, bank: Bank, batch: int, cfg: RenderConfig = RenderConfig()) -> Sample:
    """Render ``batch`` samples on device from ``bank`` (arrays on device); see the module docstring."""
    validate.instance(bank, "bank", Bank, "a Bank (ml.simulate_zone, ml.render.device_bank)")
    batch = validate.integer(batch, "batch", lo=1)
    validate.instance(cfg, "cfg", RenderConfig)
    if not validate.is_traced(key) and not (hasattr(key, "dtype") and (
            jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or np.dtype(key.dtype) == np.uint32)):
        raise validate.InputTypeError(f"key must be a jax.random key, got {type(key).__name__}")
    return _render_batch(key, bank, batch, cfg)


@functools.partial(jax.jit, static_argnames=("batch", "cfg"))
def _render_batch(key, bank: Bank, batch: int, cfg: RenderConfig) -> Sample:
    return jax.vmap(lambda k: _one(k, bank, cfg))(jax.random.split(key, batch))


def device_bank(bank: Bank) -> Bank:
    """The bank as float32/int32 device arrays (what :func:`render_batch` takes)."""
    return Bank(jnp.asarray(bank.k, jnp.float32), jnp.asarray(bank.amplitude, jnp.float32),
                jnp.asarray(bank.phase, jnp.float32), jnp.asarray(bank.entry, jnp.int32),
                jnp.asarray(bank.thickness, jnp.float32), jnp.asarray(bank.defocus, jnp.float32))


def check_config(cfg: RenderConfig) -> RenderConfig:
    validate.integer(cfg.n, "n", lo=32)
    lo, hi = cfg.dose
    validate.scalar(lo, "dose[0]", "e/px", positive=True)
    validate.scalar(hi, "dose[1]", "e/px", lo=lo)
    return cfg
