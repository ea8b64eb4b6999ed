"""Indexing FFT spots: phase, zone axis, in-plane rotation, scale and strain, per grain.

Given spot vectors g_i (g_x, g_y) [1/Å] and candidate kinematic tables (:class:`~jaxem.ml.kinematic.ZoneTable`):

1. **Hypotheses** (ICN2's pair lookup with normalised tolerances): for observed pairs (g_i, ±g_j)
   of the ``n_seed`` shortest spots (one of each Friedel pair) and every table row
   (|g_a|, |g_b|, ∠), the cost

       c² = ((|g_i| − |g_a|)/(τ_d |g_a|))² + ((|g_j| − |g_b|)/(τ_d |g_b|))² + ((∠_ij − ∠_ab)/τ_θ)²

   (both assignments i↔a, j↔b and i↔b, j↔a) is computed for all rows at once; rows with c ≤ 2
   give the 2 × 2 map A = [g_i g_j][t_a t_b]⁻¹ from table to image coordinates (rotation · scale,
   with a mirror when det A < 0: the view from −[uvw]). With ``calibrated=True`` the scale must
   lie within 1 ± ``max_scale``; else only the ratio |g_j|/|g_i| and ∠ are compared.
2. **RANSAC verification**: each hypothesis predicts every in-zone lattice point (forbidden
   reflections included: they appear by double diffraction); an observed spot within
   max(``tol_px``·Δk, τ_d|g|) of a prediction is an inlier. Score = inliers − μ · (strong allowed
   reflections predicted inside the observed |g| range but not seen, weighted by (|F|/F_max)²).
3. **Refinement**: differentiable least squares (optax L-BFGS, float64) of the rotation θ, scale s
   and symmetric strain ε in A = M·R(θ)·s(1 + ε) over the inliers (M the mirror).
4. **Grains**: the inliers of the best hypothesis form a grain; they are removed and steps 1–3 are
   repeated on the rest (greedy grain separation) while ≥ ``min_spots`` spots remain.
5. **Ambiguity**: other hypotheses of a different (phase, zone) whose score is within ``ambiguity``
   of the best are reported in ``alternatives`` and the grain is flagged ``ambiguous`` (e.g. Si vs
   Ge, Al vs Au: same symmetry, near-equal lattices).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from .kinematic import ZoneTable
from .render import CANONICAL_N, CANONICAL_PIXEL

DK = 1.0 / (CANONICAL_N * CANONICAL_PIXEL)


@pytree.dataclass(eq=False)
class Candidates:
    """Concatenated tables: names (static) of (structure id, uvw); the tables themselves."""

    names: tuple = pytree.field(static=True)
    tables: tuple = pytree.field(static=True)


@pytree.dataclass(eq=False)
class Grain:
    """One indexed grain.

    Attributes:
        phase: structure id; uvw: zone axis; rotation_deg: in-plane rotation θ [deg] (x of the zone
        frame → image x); mirror: seen from −[uvw]; scale: s; strain: (ε_xx, ε_yy, ε_xy);
        spots: indices of the input spots in this grain; hkl: (n, 3) their indices; residual: (n,)
        |A t − g| [1/Å]; score: verification score; ambiguous: bool; alternatives: [(phase, uvw, score)].
    """

    phase: str = pytree.field(static=True)
    uvw: tuple = pytree.field(static=True)
    rotation_deg: float = pytree.field(static=True)
    mirror: bool = pytree.field(static=True)
    scale: float = pytree.field(static=True)
    strain: tuple = pytree.field(static=True)
    spots: np.ndarray = None
    hkl: np.ndarray = None
    residual: np.ndarray = pytree.field(units="1/Å", default=None)
    matrix: np.ndarray = None
    score: float = pytree.field(static=True, default=0.0)
    ambiguous: bool = pytree.field(static=True, default=False)
    alternatives: tuple = pytree.field(static=True, default=())

    def as_dict(self) -> dict:
        return {"phase": self.phase, "uvw": list(self.uvw), "rotation_deg": self.rotation_deg, "mirror": self.mirror,
                "scale": self.scale, "strain": list(self.strain), "spots": np.asarray(self.spots).tolist(),
                "hkl": np.asarray(self.hkl).tolist(), "residual": np.asarray(self.residual).tolist(),
                "score": self.score, "ambiguous": self.ambiguous,
                "alternatives": [[p, list(u), s] for p, u, s in self.alternatives]}


def candidates(tables: dict) -> Candidates:
    """Candidates from {(structure id, uvw): ZoneTable}."""
    if not isinstance(tables, dict):
        raise validate.InputTypeError(f"tables must be a dict {{(structure id, uvw): ZoneTable}}, got "
                                      f"{type(tables).__name__}")
    if not tables:
        raise validate.InputError("tables must hold at least one (structure, zone axis) table")
    for k, v in tables.items():
        if not (isinstance(k, tuple) and len(k) == 2 and isinstance(k[0], str)):
            raise validate.InputError(f"tables keys must be (structure id, uvw), got {k!r}")
        validate.miller(k[1], f"tables key {k!r}: uvw")
        validate.instance(v, f"tables[{k!r}]", ZoneTable)
    names = tuple((str(k[0]), tuple(int(x) for x in k[1])) for k in tables)
    return Candidates(names, tuple(tables.values()))


@functools.lru_cache(maxsize=8)
def _stack(cands: Candidates):
    rows = [np.column_stack([t.pairs, np.full(len(t.pairs), e)]) for e, t in enumerate(cands.tables) if len(t.pairs)]
    return np.concatenate(rows) if rows else np.zeros((0, 6))


def _angle(u, v):
    c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def _hypotheses(g, cands, tol_d, tol_deg, calibrated, max_scale, n_seed, max_hyp):
    gabs = np.linalg.norm(g, axis=1)
    half = np.flatnonzero((g[:, 0] > 1e-12) | ((np.abs(g[:, 0]) <= 1e-12) & (g[:, 1] > 0)))
    seeds = half[np.argsort(gabs[half])][:n_seed]
    table = _stack(cands)
    if len(table) == 0:
        return []
    ga, gb, ang = table[:, 0], table[:, 1], table[:, 2]
    hyps = []
    for x in range(len(seeds)):
        for y in range(x + 1, len(seeds)):
            i = seeds[x]
            for sgn in (1.0, -1.0):
                gi, gj = g[i], sgn * g[seeds[y]]
                th = _angle(gi, gj)
                if th < 5.0 or th > 175.0:
                    continue
                ni, nj = np.linalg.norm(gi), np.linalg.norm(gj)
                for (p, q, swap) in ((ni, nj, False), (nj, ni, True)):
                    if calibrated:
                        c2 = ((p - ga) / (tol_d * ga)) ** 2 + ((q - gb) / (tol_d * gb)) ** 2
                    else:
                        c2 = 2 * ((q / p - gb / ga) / (tol_d * gb / ga)) ** 2
                    c2 = c2 + ((th - ang) / tol_deg) ** 2
                    for r in np.flatnonzero(c2 <= 4.0):
                        obs = np.stack([gj, gi] if swap else [gi, gj], axis=1)
                        hyps.append((float(c2[r]), int(table[r, 5]), int(table[r, 3]), int(table[r, 4]), obs))
    hyps.sort(key=lambda h: h[0])
    out = []
    for c2, e, a, b, obs in hyps[: max_hyp]:
        t = cands.tables[e]
        ref = np.stack([t.g[a], t.g[b]], axis=1)
        if abs(np.linalg.det(ref)) < 1e-12:
            continue
        A = obs @ np.linalg.inv(ref)
        sv = np.linalg.svd(A, compute_uv=False)
        if calibrated and (abs(sv[0] - 1) > max_scale or abs(sv[1] - 1) > max_scale):
            continue
        out.append((c2, e, A))
    return out


def _verify(g, gabs, table: ZoneTable, A, tol_abs, tol_d, penalty):
    pred = table.g @ A.T
    d = np.linalg.norm(g[:, None, :] - pred[None, :, :], axis=-1)
    nearest = np.argmin(d, axis=1)
    dmin = d[np.arange(len(g)), nearest]
    inl = dmin <= np.maximum(tol_abs, tol_d * gabs)
    score = float(inl.sum())
    if penalty > 0 and inl.any():
        gmax = gabs[inl].max() * 1.02
        pa = np.linalg.norm(pred, axis=1)
        fmax = table.amplitude.max()
        strong = table.allowed & (pa <= gmax) & (pa >= gabs[inl].min() * 0.98) & (table.amplitude >= 0.3 * fmax)
        seen = np.zeros(len(pred), bool)
        seen[nearest[inl]] = True
        score -= penalty * float(np.sum(((table.amplitude / fmax) ** 2)[strong & ~seen]))
    return score, inl, nearest


def _params_to_matrix(p, mirror):
    th, logs, exx, eyy, exy = p[0], p[1], p[2], p[3], p[4]
    R = jnp.array([[jnp.cos(th), -jnp.sin(th)], [jnp.sin(th), jnp.cos(th)]])
    E = jnp.eye(2) + jnp.array([[exx, exy], [exy, eyy]])
    M = jnp.diag(jnp.stack([jnp.ones_like(mirror), mirror]))  # mirror: +1 or −1 (traced)
    return jnp.exp(logs) * R @ E @ M


@jax.jit
def _refine(p0, t, g, w, mirror):
    import optax

    def loss(p):
        A = _params_to_matrix(p, mirror)
        return jnp.sum(w[:, None] * (t @ A.T - g) ** 2) / (jnp.sum(w[:, None] * g**2) + 1e-30)

    opt = optax.lbfgs()
    vg = optax.value_and_grad_from_state(loss)

    def body(carry, _):
        p, s, best, v_best = carry
        v, grad = vg(p, state=s)
        # keep the lowest loss seen: once the fit is exact the curvature pairs vanish and an L-BFGS step can jump
        # far away (a scale of 4.6 and strains of 30 were seen on a 22-spot aragonite fit)
        better = jnp.isfinite(v) & (v < v_best)
        best, v_best = jnp.where(better, p, best), jnp.where(better, v, v_best)
        u, s = opt.update(grad, s, p, value=v, grad=grad, value_fn=loss)
        return (optax.apply_updates(p, u), s, best, v_best), v

    (p, _, best, v_best), _ = jax.lax.scan(body, (p0, opt.init(p0), p0, loss(p0)), None, length=60)
    v = loss(p)
    return jnp.where(jnp.isfinite(v) & (v < v_best) & jnp.all(jnp.isfinite(p)), p, best)


def _points_n(value, name):
    a = np.asarray(validate.array(value, name, ndim=2, kind="real"), float)
    if a.shape[1] != 2:
        raise validate.InputError(f"{name} must have shape (n, 2) [1/Å], got {a.shape}")
    return a


def refine(A0, t, g):
    """Least-squares refinement (optax L-BFGS, float64) of A = s·R(θ)·(1 + ε)·M mapping table vectors
    t (n, 2) onto observed g (n, 2) [1/Å] → (θ [rad], s, ε (xx, yy, xy), mirror, A)."""
    A0 = np.asarray(validate.array(A0, "A0", shape=(2, 2), ndim=2, kind="real"), float)
    t = _points_n(t, "t")
    g = _points_n(g, "g")
    if len(t) != len(g) or len(t) < 2:
        raise validate.InputError(f"t and g must be matched pairs of ≥ 2 vectors, got {len(t)} and {len(g)}")
    mirror = bool(np.linalg.det(A0) < 0)
    m = -1.0 if mirror else 1.0
    B = A0 @ np.diag([1.0, -1.0]) if mirror else A0
    th = float(np.arctan2(B[1, 0] - B[0, 1], B[0, 0] + B[1, 1]))
    s = float(np.sqrt(abs(np.linalg.det(B))))
    with accel.float64_mode():
        p0 = jnp.array([th, np.log(s), 0.0, 0.0, 0.0], jnp.float64)
        if len(t) >= 3:
            n = 1 << max(6, int(np.ceil(np.log2(len(t)))))  # padded size: few compilations
            pad = lambda a: np.concatenate([np.asarray(a, float), np.zeros((n - len(a),) + np.shape(a)[1:])])  # noqa: E731
            p = np.asarray(_refine(p0, jnp.asarray(pad(t)), jnp.asarray(pad(g)), jnp.asarray(pad(np.ones(len(t)))),
                                   jnp.asarray(m)))
        else:
            p = np.asarray(p0)
        A = np.asarray(_params_to_matrix(jnp.asarray(p), jnp.asarray(m)))
    return float(p[0]), float(np.exp(p[1])), (float(p[2]), float(p[3]), float(p[4])), mirror, A


@validate.typed
def index_spots(g, cands: Candidates, *, tol_d: float = 0.03, tol_deg: float = 2.0, tol_px: float = 2.0,
                calibrated: bool = True, max_scale: float = 0.03, n_seed: int = 8, max_hypotheses: int = 400,
                penalty: float = 0.3, ambiguity: float = 0.5, min_spots: int = 4, max_grains: int = 3,
                dk: float = DK) -> list[Grain]:
    """Index spots g (M, 2) [1/Å] against ``cands`` (module docstring) → grains, best first."""
    g = validate.array(g, "g (spot vectors)", ndim=2, kind="real", finite=True, min_size=0)
    g = np.asarray(g, float).reshape(-1, 2)
    if g.shape[1] != 2:
        raise validate.InputError(f"g (spot vectors) must have shape (M, 2) [1/Å], got {g.shape}")
    validate.instance(cands, "cands", Candidates, "Candidates (ml.candidates or ml.database.load_candidates)")
    tol_d = validate.scalar(tol_d, "tol_d", positive=True, hi=0.5)
    tol_deg = validate.scalar(tol_deg, "tol_deg", "deg", positive=True, hi=30)
    remaining = np.arange(len(g))
    grains = []
    tol_abs = tol_px * dk
    while len(remaining) >= min_spots and len(grains) < max_grains:
        gg = g[remaining]
        gabs = np.linalg.norm(gg, axis=1)
        hyps = _hypotheses(gg, cands, tol_d, tol_deg, calibrated, max_scale, n_seed, max_hypotheses)
        if not hyps:
            break
        scored = []
        for c2, e, A in hyps:
            s, inl, nearest = _verify(gg, gabs, cands.tables[e], A, tol_abs, tol_d, penalty)
            scored.append((s - 0.01 * c2, e, A, inl, nearest))
        scored.sort(key=lambda h: -h[0])
        best, e, A, inl, nearest = scored[0]
        if inl.sum() < min_spots:
            break
        table = cands.tables[e]
        th, s, eps, mirror, A = refine(A, table.g[nearest[inl]], gg[inl])
        # re-verify with the refined matrix (may pick up more inliers)
        _, inl, nearest = _verify(gg, gabs, table, A, tol_abs, tol_d, 0.0)
        th, s, eps, mirror, A = refine(A, table.g[nearest[inl]], gg[inl])
        alts, seen = [], {cands.names[e]}
        for sc, e2, *_ in scored[1:]:
            if cands.names[e2] not in seen and sc >= best - ambiguity:
                alts.append((cands.names[e2][0], cands.names[e2][1], float(sc)))
                seen.add(cands.names[e2])
        res = np.linalg.norm(table.g[nearest[inl]] @ A.T - gg[inl], axis=1)
        grains.append(Grain(cands.names[e][0], cands.names[e][1], float(np.degrees(th)), mirror, s, eps,
                            remaining[inl], np.asarray(table.hkl[nearest[inl]]), res, A, float(best),
                            bool(alts), tuple(alts)))
        remaining = remaining[~inl]
    return grains


def _rows(table: ZoneTable, hkl):
    lookup = {tuple(int(x) for x in r): i for i, r in enumerate(np.asarray(table.hkl))}
    return np.array([lookup[tuple(int(x) for x in r)] for r in np.asarray(hkl)], int)
