"""Stack denoising per scan position: event clustering + persistence, sparse PCA, low rank, selective sums.

Each scan position holds a stack X (T frames × ny × nx, counts) whose plain sum S = Σ_t X_t is the
4D-STEM pattern. The denoisers estimate E[S] from X alone (independent of neighbouring positions,
``vmap``-ed over positions), except the low-rank baseline which works across positions:

* ``"persistence"`` (default; event clustering with multi-step persistence thresholding, after
  Nordahl, Klemmt & Bøjesen, arXiv:2512.10555): an event is *clustered* when its (2r_t+1)×3×3
  (frames × pixels) neighbourhood holds ≥ ``min_pts`` events (the DBSCAN core-point criterion);
  a pixel's persistence p is the number of frames in which it holds a clustered event. Under the
  local background rate b [counts/pixel/frame] (robust local mean of S/T) a pixel is clustered in a
  frame with probability q = (1 − e^{−b})·P[Poisson((n_vox − 1)·b) ≥ min_pts − 1], so
  z = (p − Tq)/√(Tq(1 − q)). Two steps: z > ``z_hard`` marks signal; z > ``z_soft`` next to signal
  extends it (hysteresis); pixels whose sum alone exceeds the background by ``z_hard`` standard
  deviations, and a one-pixel ring around all of these (partially covered disk edges), are signal
  too. Signal pixels keep S; the others get the local mean of the non-signal
  pixels (normalised box filter, radius ``smooth_radius``) — the diffuse background is smooth, so this
  removes most of its shot noise without touching the Bragg disks.
* ``"spca"`` (sparse PCA with single-step thresholding): a rank-1 sparse component of the T × P
  matrix by thresholded power iteration; loadings w = Xᵀu are hard-thresholded once at
  w > b·Σu + ``z_hard``·√b; kept pixels are reconstructed from the single component (Σu)·w, the rest
  get the smoothed background as above.
* ``"lowrank"``: truncated SVD of the (positions × pixels) matrix of sums, rank ``rank`` — the classic
  4D-STEM PCA denoiser, a baseline across positions.
* :func:`selective_sum`: exposure-selective summation of the frames before a dose limit.

**Safeguard (never worse than the plain sum).** The background-replaced pixels of each position are
tested against Poisson statistics: Pearson X² = Σ (S − Ŝ)²/Ŝ over them must not exceed its mean
by more than 5 standard deviations (var = Σ 2 + 1/Ŝ). Where it does (a disk classified as background,
a background that is not smooth), the position falls back to the plain sum and is flagged
(``status = 1``).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammainc

from .. import accel
from .events import EventData, densify

METHODS = ("persistence", "spca", "plain")
FALLBACK = 1


def _box(x, radii):
    """Sum over a (2r+1)-wide window on each axis ('SAME' padding with zeros)."""
    win = tuple(2 * r + 1 for r in radii)
    return jax.lax.reduce_window(x, jnp.zeros((), x.dtype), jax.lax.add, win, (1,) * x.ndim, "SAME")


def _local_background(S, radius, n_iter=3, k=3.0):
    """Robust local mean of S: box mean with pixels far above it masked out (iterated)."""
    ones = jnp.ones_like(S)
    bg = _box(S, (radius, radius)) / _box(ones, (radius, radius))
    for _ in range(n_iter):
        m = (S <= bg + k * jnp.sqrt(bg + 1.0)).astype(S.dtype)
        bg = _box(S * m, (radius, radius)) / jnp.maximum(_box(m, (radius, radius)), 1.0)
    return bg


def _fill_background(S, signal, radius):
    """Ŝ: S on signal pixels, the local mean of non-signal pixels elsewhere (normalised box)."""
    nm = (~signal).astype(S.dtype)
    num, den = _box(S * nm, (radius, radius)), _box(nm, (radius, radius))
    smooth = jnp.where(den > 0, num / jnp.maximum(den, 1.0), S)
    est = jnp.where(signal, S, smooth)
    # safeguard: Pearson X² of the replaced pixels against their Poisson means
    mu = jnp.maximum(smooth, 1e-3)
    x2 = jnp.sum(nm * (S - mu) ** 2 / mu)
    mean = jnp.sum(nm)
    sd = jnp.sqrt(jnp.sum(nm * (2.0 + 1.0 / mu)))
    bad = x2 > mean + 5.0 * sd
    return jnp.where(bad, S, est), bad.astype(jnp.int32)


def _persistence_one(X, min_pts, time_radius, z_hard, z_soft, bg_radius, smooth_radius):
    T = X.shape[0]
    S = X.sum(0)
    b = _local_background(S, bg_radius) / T
    dens = _box(X, (time_radius, 1, 1))
    core = (X > 0) & (dens >= min_pts)
    p = core.sum(0).astype(X.dtype)
    n_vox = (2 * time_radius + 1) * 9
    k = jnp.asarray(min_pts - 1, X.dtype)
    tail = jnp.where(k > 0, gammainc(jnp.maximum(k, 1.0), (n_vox - 1) * b), 1.0)  # P[Poisson ≥ k]
    q = jnp.clip((1 - jnp.exp(-b)) * tail, 1e-9, 1 - 1e-9)
    z = (p - T * q) / jnp.sqrt(T * q * (1 - q))
    hard = z > z_hard
    near = _box(hard.astype(X.dtype), (1, 1)) > 0
    # a pixel whose summed count alone is clearly above the local background is kept as well
    excess = (S - b * T) / jnp.sqrt(b * T + 1.0) > z_hard
    signal = hard | excess | ((z > z_soft) & near)
    # keep a one-pixel ring around the signal: partially covered disk-edge pixels are not background
    signal = _box(signal.astype(X.dtype), (1, 1)) > 0
    return _fill_background(S, signal, smooth_radius)


def _spca_one(X, z_hard, bg_radius, smooth_radius, n_iter):
    T = X.shape[0]
    shape = X.shape[1:]
    A = X.reshape(T, -1)
    S = A.sum(0)
    b = (_local_background(S.reshape(shape), bg_radius) / T).ravel()

    def body(_, v):
        u = A @ v
        u = u / jnp.maximum(jnp.linalg.norm(u), 1e-12)
        w = A.T @ u
        lam = b * jnp.sum(u) + z_hard * jnp.sqrt(jnp.maximum(b, 1e-6) * jnp.sum(u * u))
        v = jnp.where(w > lam, w, 0.0)
        return v / jnp.maximum(jnp.linalg.norm(v), 1e-12)

    v = jax.lax.fori_loop(0, n_iter, body, S / jnp.maximum(jnp.linalg.norm(S), 1e-12))
    u = A @ v
    u = u / jnp.maximum(jnp.linalg.norm(u), 1e-12)
    w = A.T @ u
    lam = b * jnp.sum(u) + z_hard * jnp.sqrt(jnp.maximum(b, 1e-6))
    keep = w > lam                                            # single-step thresholding
    recon = jnp.sum(u) * w
    ring = _box(keep.reshape(shape).astype(X.dtype), (1, 1)) > 0
    est, bad = _fill_background(jnp.where(keep, recon, S).reshape(shape), ring, smooth_radius)
    return est, bad


@functools.lru_cache(maxsize=16)
def _compiled(method: str, params: tuple):
    p = dict(params)
    if method == "persistence":
        def one(X):
            return _persistence_one(X, p["min_pts"], p["time_radius"], p["z_hard"], p["z_soft"],
                                    p["bg_radius"], p["smooth_radius"])
    elif method == "spca":
        def one(X):
            return _spca_one(X, p["z_hard"], p["bg_radius"], p["smooth_radius"], p["n_iter"])
    else:
        def one(X):
            return X.sum(0), jnp.zeros((), jnp.int32)
    return jax.jit(jax.vmap(one))


DEFAULTS = {"persistence": dict(min_pts=2, time_radius=2, z_hard=4.0, z_soft=2.0, bg_radius=4, smooth_radius=2),
            "spca": dict(z_hard=4.0, bg_radius=4, smooth_radius=2, n_iter=10), "plain": {}}


def denoise_stacks(stacks, method: str = "persistence", precision=None, **params):
    """Denoised sum of each stack: ``stacks`` (N, T, ny, nx) counts → (estimate (N, ny, nx), status (N,)).

    Args:
        stacks: counts per frame of N positions.
        method: ``"persistence"`` (default), ``"spca"`` or ``"plain"``.
        precision: 'float32' (default) or 'float64'.
        **params: method parameters overriding :data:`DEFAULTS` (see the module docstring).

    Returns:
        (estimate [counts], status) — status 1 where the safeguard fell back to the plain sum.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    X = np.asarray(stacks)
    if X.ndim != 4:
        raise ValueError(f"stacks must be (N, T, ny, nx), got shape {X.shape}")
    if not np.all(np.isfinite(X)) or np.any(X < 0):
        raise ValueError("stacks must be finite, non-negative counts")
    unknown = set(params) - set(DEFAULTS[method])
    if unknown:
        raise ValueError(f"unknown parameters {sorted(unknown)} for method {method!r}; "
                         f"known: {sorted(DEFAULTS[method])}")
    p = {**DEFAULTS[method], **params}
    fn = _compiled(method, tuple(sorted(p.items())))
    est, status = fn(jnp.asarray(X, accel.real_dtype(precision)))
    return np.asarray(est), np.asarray(status)


def lowrank(sums, rank: int = 4):
    """Rank-``rank`` truncated SVD of the (positions × pixels) matrix of summed patterns [counts].

    Args:
        sums: (scan_y, scan_x, ny, nx) or (N, ny, nx) summed patterns.
    """
    s = np.asarray(sums, np.float64)
    if s.ndim < 3:
        raise ValueError(f"sums must have ≥ 3 dimensions (positions…, ny, nx), got {s.shape}")
    A = s.reshape(-1, s.shape[-2] * s.shape[-1])
    if not 1 <= rank <= min(A.shape):
        raise ValueError(f"rank must be in [1, {min(A.shape)}], got {rank}")
    U, sv, Vt = np.linalg.svd(A, full_matrices=False)
    return ((U[:, :rank] * sv[:rank]) @ Vt[:rank]).reshape(s.shape)


def selective_sum(stacks, doses, max_dose: float):
    """Exposure-selective summation: Σ of the frames whose centre dose is < ``max_dose`` [e⁻/Å²].

    Args:
        stacks: (…, T, ny, nx) counts. doses: cumulative dose per frame (T,) [e⁻/Å²].
        max_dose: dose limit [e⁻/Å²], e.g. a fraction of the critical dose.
    """
    D = np.asarray(doses, np.float64)
    X = np.asarray(stacks)
    if X.shape[-3] != D.size:
        raise ValueError(f"stacks have {X.shape[-3]} frames, doses {D.size}")
    keep = D < max_dose
    if not keep.any():
        raise ValueError(f"max_dose = {max_dose} e-/A^2 is below the first frame's dose {D[0]:.3g}")
    return X[..., keep, :, :].sum(-3)


def denoise_events(ev: EventData, method: str = "persistence", budget=None, **params):
    """Denoise every position of ``ev`` chunk by chunk: (scan_y, scan_x, ny, nx) estimate and status map."""
    from .chunked import iter_chunks

    per_pos = 4 * ev.n_frames * ev.n_pixels * 6
    ests, stats = [], []
    for _, _, chunk in iter_chunks(ev, output_bytes_per_position=per_pos, budget=budget):
        e, s = denoise_stacks(densify(chunk), method=method, **params)
        ests.append(e)
        stats.append(s)
    est = np.concatenate(ests).reshape(*ev.scan_shape, *ev.detector_shape)
    return est, np.concatenate(stats).reshape(ev.scan_shape)
