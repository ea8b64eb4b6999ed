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

from .. import accel, validate
from .events import EventData, densify
from .poisson import run_bucketed

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


_PARAM_CHECKS = {"min_pts": ("integer", 1), "time_radius": ("integer", 0), "bg_radius": ("integer", 1),
                 "smooth_radius": ("integer", 1), "n_iter": ("integer", 1), "z_hard": ("positive", None),
                 "z_soft": ("positive", None)}


def _check_params(method, params):
    known = DEFAULTS[method]
    for name, value in params.items():
        if name not in known:
            hint = validate.closest(name, known)
            raise validate.InputError(f"unknown parameters [{name!r}] for method {method!r}; known: {sorted(known)}"
                                      + (f" (did you mean {hint!r}?)" if hint else ""))
        kind, lo = _PARAM_CHECKS[name]
        if kind == "integer":
            validate.integer(value, name, lo=lo)
        else:
            validate.scalar(value, name, "σ", positive=True)
    p = {**known, **params}
    if method == "persistence" and p["z_soft"] > p["z_hard"]:
        raise validate.InputError(f"z_soft = {p['z_soft']} must be ≤ z_hard = {p['z_hard']} (hysteresis)")
    return p


def denoise_stacks(stacks, method: str = "persistence", precision=None, memory_budget=None, **params):
    """Denoised sum of each stack: ``stacks`` (N, T, ny, nx) counts → (estimate (N, ny, nx), status (N,)).

    Args:
        stacks: counts per frame of N positions (finite, ≥ 0).
        method: ``"persistence"`` (default), ``"spca"`` or ``"plain"``.
        precision: any :data:`jaxem.accel.PRECISION_ALIASES` (float32 default).
        memory_budget: memory budget [bytes or '256M'] for the number of positions denoised at once.
        **params: method parameters overriding :data:`DEFAULTS` (see the module docstring).

    Returns:
        (estimate [counts], status) — status 1 where the safeguard fell back to the plain sum.
    """
    validate.choice(method, "method", METHODS)
    validate.array(stacks, "stacks", ndim=4, kind="real", units="counts")
    X = np.asarray(stacks)
    if X.size and X.min() < 0:
        first = tuple(int(i) for i in np.argwhere(X < 0)[0])
        raise validate.InputError(f"stacks must be non-negative counts; {int(np.sum(X < 0))} value(s) are negative "
                                  f"(first at index {first})")
    p = _check_params(method, params)
    fn = _compiled(method, tuple(sorted(p.items())))
    # working set per position: the stack and ~6 same-sized temporaries (box filters, masks) [bytes]
    per_pos = 4 * int(np.prod(X.shape[1:])) * 8
    est, status = run_bucketed(fn, (X,), (), accel.real_dtype(precision), 8, per_pos, memory_budget)
    return est.astype(accel.real_dtype(precision)), status.astype(np.int32)


def lowrank(sums, rank: int = 4):
    """Rank-``rank`` truncated SVD of the (positions × pixels) matrix of summed patterns [counts].

    Args:
        sums: (scan_y, scan_x, ny, nx) or (N, ny, nx) summed patterns.
    """
    validate.array(sums, "sums", min_ndim=3, kind="real", units="counts")
    s = np.asarray(sums, np.float64)
    A = s.reshape(-1, s.shape[-2] * s.shape[-1])
    rank = validate.integer(rank, "rank", lo=1, hi=min(A.shape))
    U, sv, Vt = np.linalg.svd(A, full_matrices=False)
    return ((U[:, :rank] * sv[:rank]) @ Vt[:rank]).reshape(s.shape)


def selective_sum(stacks, doses, max_dose: float):
    """Exposure-selective summation: Σ of the frames whose centre dose is < ``max_dose`` [e⁻/Å²].

    Args:
        stacks: (…, T, ny, nx) counts. doses: cumulative dose per frame (T,) [e⁻/Å²].
        max_dose: dose limit [e⁻/Å²], e.g. a fraction of the critical dose.
    """
    validate.array(doses, "doses", ndim=1, kind="real", units="e⁻/Å²")
    D = np.asarray(doses, np.float64)
    validate.array(stacks, "stacks", min_ndim=3, kind="real", units="counts")
    X = np.asarray(stacks)
    if X.shape[-3] != D.size:
        raise validate.InputError(f"stacks have {X.shape[-3]} frames (axis −3), doses {D.size}")
    max_dose = validate.scalar(max_dose, "max_dose", "e⁻/Å²", positive=True)
    keep = D < max_dose
    if not keep.any():
        raise validate.InputError(f"max_dose = {max_dose} e⁻/Å² is below the first frame's dose {D[0]:.3g}")
    return X[..., keep, :, :].sum(-3)


@validate.typed
def denoise_events(ev: EventData, method: str = "persistence", memory_budget=None, precision=None, **params):
    """Denoise every position of ``ev`` chunk by chunk: (scan_y, scan_x, ny, nx) estimate and status map."""
    from .chunked import _source, iter_chunks

    _source(ev)
    validate.choice(method, "method", METHODS)
    _check_params(method, params)
    per_pos = 4 * ev.n_frames * ev.n_pixels * 6
    ests, stats = [], []
    for _, _, chunk in iter_chunks(ev, output_bytes_per_position=per_pos, memory_budget=memory_budget):
        e, s = denoise_stacks(densify(chunk), method=method, precision=precision,
                              memory_budget=memory_budget, **params)
        ests.append(e)
        stats.append(s)
    est = np.concatenate(ests).reshape(*ev.scan_shape, *ev.detector_shape)
    return est, np.concatenate(stats).reshape(ev.scan_shape)
