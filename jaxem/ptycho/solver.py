"""Gradient-based ptychography: loss, regularisation and the pure ``init``/``step``/``result`` of the
house's iterative shape.

Loss (per epoch, summed over mini-batches of scan positions):

    L = Σ_p w_p Σ_k m_k (√I_p^model(k) − √I_p(k))² / Σ_p w_p Σ_k m_k I_p(k)      (amplitude error)
        + λ_TV Σ_s ⟨√(|∇φ_s|² + ε²)⟩ + λ_kz Σ_s ⟨(φ_{s+1} − φ_s)²⟩ + λ_μ Σ_s ⟨μ_s²⟩,

the Gaussian-amplitude (variance-stabilised Poisson) likelihood normalised like py4DSTEM's error,
plus isotropic total variation of each slice phase (ε = 10⁻³ rad/px keeps it differentiable), a
depth (k_z) regularisation and an L2 penalty on absorption. The k_z term is a Tikhonov penalty on the
slice-to-slice phase change: its Fourier weight 4 sin²(πk_zΔz) damps the high-k_z components that the
data barely constrain (the missing cone of the 3D transfer of a ptychographic dataset: at lateral
frequency k the depth resolution is ~1/(λk·α)), in the spirit of the k_z filter of Maiden, Humphry &
Rodenburg, JOSA A 29, 1606 (2012) and Tsai et al., Opt. Express 24, 29089 (2016) — written as a
penalty rather than a filter so that it stays inside the one differentiable loss. Optimisers (optax):

* ``"adam"`` — one step = one epoch: the positions are shuffled (``jax.random``) and cut into
  mini-batches of ``batch`` positions (from the memory policy, :func:`jaxem.accel.batch_size`); every
  mini-batch is one Adam update (``lax.scan`` over batches). Each parameter group has its own
  learning rate (``rates``: object, probe, aberrations, positions; 0 freezes it), applied after
  :func:`optax.scale_by_adam`.
* ``"lbfgs"`` — one step = one evaluation of the full loss and its gradient (accumulated over all
  mini-batches) in :func:`jaxem.ptycho.lbfgs.update`: an L-BFGS trial point accepted by the Armijo
  condition or a halved step (a line search costs one step per trial; the objective is compiled
  once). Frozen groups get zero gradient; the rates only say which groups are free, except
  ``rate_object``, the largest phase change [rad] of a steepest-descent step.

``step`` is a module-level ``jit`` with the model and configuration static: nothing recompiles on a
repeated call. The data (amplitudes, positions, weights, mask) are inputs of ``step``, not part of
the state, so the state (what a checkpoint holds) is parameters + optimiser state + counters.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

import numpy as np

from .. import pytree, validate
from . import lbfgs
from ..optics import Aberrations
from .model import Model, PtychoParams, _check_params, _model_amplitudes

__all__ = ["SolverConfig", "PtychoState", "init", "step", "result", "loss", "full_error", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "lbfgs")


@pytree.dataclass
class SolverConfig:
    """Static configuration of the solver (hashable).

    Attributes:
        optimizer: ``"adam"`` or ``"lbfgs"``.
        rate_object, rate_probe, rate_positions: learning rates of the groups [per unit of the
            parameter: rad, 1, Å] (0 freezes the group).
        rate_aberrations: learning rate of the fitted aberration coefficients [Å or rad].
        fit_aberrations: static tuple of the fitted coefficient names (e.g. ("C10", "C12", "phi12")).
        tv: weight λ_TV of the total variation of the slice phases [1/rad].
        kz: weight λ_kz of the kz (depth) regularisation of the slice phases [1/rad²].
        absorption_l2: weight λ_μ of the absorption penalty.
        batch: positions per mini-batch; n_batches: mini-batches per epoch (batch·n_batches ≥ P).
        memory, max_backtracks: L-BFGS memory pairs and line-search halvings (:mod:`~jaxem.ptycho.lbfgs`).
    """

    optimizer: str = pytree.field(static=True, default="adam")
    rate_object: float = pytree.field(static=True, default=0.05)
    rate_probe: float = pytree.field(static=True, default=0.01)
    rate_positions: float = pytree.field(static=True, default=0.0)
    rate_aberrations: float = pytree.field(static=True, default=0.0)
    fit_aberrations: tuple = pytree.field(static=True, default=())
    tv: float = pytree.field(static=True, default=0.0)
    kz: float = pytree.field(static=True, default=0.0)
    absorption_l2: float = pytree.field(static=True, default=0.0)
    batch: int = pytree.field(static=True, default=64)
    n_batches: int = pytree.field(static=True, default=1)
    memory: int = pytree.field(static=True, default=8)
    max_backtracks: int = pytree.field(static=True, default=10)

    def __post_init__(self):
        validate.choice(self.optimizer, "optimizer", OPTIMIZERS)
        fix = {n: validate.scalar(getattr(self, n), n, u, nonnegative=True) for n, u in (
            ("rate_object", "rad"), ("rate_probe", "1"), ("rate_positions", "Å"), ("rate_aberrations", "Å or rad"),
            ("tv", "1/rad"), ("kz", "1/rad²"), ("absorption_l2", ""))}
        fix.update({n: validate.integer(getattr(self, n), n, lo=lo) for n, lo in (
            ("batch", 1), ("n_batches", 1), ("memory", 1), ("max_backtracks", 0))})
        names = self.fit_aberrations
        names = (names,) if isinstance(names, str) else names
        if isinstance(names, (bytes, dict)) or not hasattr(names, "__iter__"):
            raise validate.InputTypeError(f"fit_aberrations must be a tuple of aberration names, got "
                                          f"{type(names).__name__} {names!r}")
        fix["fit_aberrations"] = tuple(validate.choice(n, "fit_aberrations", list(Aberrations.__dataclass_fields__))
                                       for n in names)
        for k, v in fix.items():
            object.__setattr__(self, k, v)


@pytree.dataclass
class PtychoState:
    """State of a reconstruction.

    Attributes:
        params: :class:`~jaxem.ptycho.model.PtychoParams`.
        opt_state: optax state.
        loss: loss of the last epoch (amplitude error + regularisation), as seen during it.
        error: amplitude error of the last epoch (data term only).
        count: epochs (steps) taken.
        key: ``jax.random`` key for the shuffling.
    """

    params: PtychoParams
    opt_state: Any
    loss: Any
    error: Any
    count: Any
    key: Any


def _check_solver(params, model, cfg, data=None, cover=True):
    """The public boundary of the solver functions: types of params/model/cfg and the data tuple's shapes."""
    _check_params(params, model)
    validate.instance(cfg, "cfg", SolverConfig, "a ptycho.SolverConfig")
    if data is None:
        return
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise validate.InputTypeError(f"data must be the tuple (amplitudes, positions, weights, mask) of a "
                                      f"PtychoData, got {type(data).__name__}")
    amp, pos, w, mask = data
    nd = tuple(model.geometry.detector)
    validate.array(amp, "data[0] (amplitudes)", ndim=3, shape=(None,) + nd, kind="real", nonnegative=True)
    p = np.shape(amp)[0]
    validate.array(pos, "data[1] (positions)", shape=(p, 2), ndim=2, kind="real", units="Å")
    validate.array(w, "data[2] (weights)", shape=(p,), ndim=1, kind="real")
    validate.array(mask, "data[3] (mask)", shape=nd, ndim=2, kind="real")
    if cover and cfg.batch * cfg.n_batches < p:
        raise validate.InputError(f"cfg: batch·n_batches = {cfg.batch}·{cfg.n_batches} must cover the {p} positions "
                                  f"of data")


def _rates(params: PtychoParams, cfg: SolverConfig) -> PtychoParams:
    """Per-leaf learning rates (0 = frozen) as a PtychoParams of floats."""
    ab = Aberrations(**{f: (cfg.rate_aberrations if f in cfg.fit_aberrations else 0.0)
                        for f in Aberrations.__dataclass_fields__})
    return PtychoParams(phase=cfg.rate_object, absorption=cfg.rate_object, probe=cfg.rate_probe,
                        aberrations=ab, offsets=cfg.rate_positions)


def _scale_by_tree(rates):
    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        del params
        return jax.tree_util.tree_map(lambda u, r: -r * u, updates, rates), state

    return optax.GradientTransformation(init_fn, update_fn)


def _same_types(new, old):
    """``new`` with the dtypes and weak types of ``old`` leaf by leaf (a jitted step whose output
    types equal its input types is compiled once)."""
    def cast(a, b):
        if not hasattr(b, "dtype") or jnp.issubdtype(b.dtype, jax.dtypes.prng_key):
            return a
        return jax.lax.convert_element_type(a, b.dtype) if not getattr(b, "weak_type", False) else a

    return jax.tree_util.tree_map(cast, new, old)


def _optimizer(params, cfg: SolverConfig):
    return optax.chain(optax.scale_by_adam(), _scale_by_tree(_rates(params, cfg)))


def _regulariser(params: PtychoParams, cfg: SolverConfig):
    out = 0.0
    if cfg.tv:
        phi = params.phase
        dy = jnp.diff(phi, axis=-2)[..., :, :-1]
        dx = jnp.diff(phi, axis=-1)[..., :-1, :]
        out = out + cfg.tv * jnp.sum(jnp.mean(jnp.sqrt(dy ** 2 + dx ** 2 + 1e-6), axis=(-2, -1)))
    if cfg.kz and params.phase.shape[0] > 1:
        # Tikhonov on the depth derivative: in 3D Fourier space a weight 4 sin²(π k_z Δz) on |Φ(k, k_z)|²,
        # a k_z low-pass (cf. the missing-cone regularisation of multislice ptychography)
        out = out + cfg.kz * jnp.sum(jnp.mean(jnp.diff(params.phase, axis=0) ** 2, axis=(-2, -1)))
    if cfg.absorption_l2:
        out = out + cfg.absorption_l2 * jnp.sum(jnp.mean(params.absorption ** 2, axis=(-2, -1)))
    return out


def _freeze(params: PtychoParams, cfg: SolverConfig) -> PtychoParams:
    """``params`` with the frozen groups (rate 0, aberrations not fitted) behind ``stop_gradient``: their
    derivatives are never formed, which trims the compiled gradient (and its compile time)."""
    sg = jax.lax.stop_gradient
    ab = Aberrations(**{f: (v if f in cfg.fit_aberrations and cfg.rate_aberrations else sg(v))
                        for f, v in params.aberrations.to_dict().items()})
    return params.replace(phase=params.phase if cfg.rate_object else sg(params.phase),
                          absorption=params.absorption if cfg.rate_object else sg(params.absorption),
                          probe=params.probe if cfg.rate_probe else sg(params.probe),
                          offsets=params.offsets if cfg.rate_positions else sg(params.offsets),
                          aberrations=ab)


def _batch_error(params, model, data, index, valid, norm):
    amp, pos, w, mask = data
    model_amp = _model_amplitudes(params, model, pos, index)
    wb = w[index] * valid
    num = jnp.sum(wb[:, None, None] * mask[None] * (model_amp - amp[index]) ** 2)
    return num / norm


@validate.typed
def loss(params: PtychoParams, model: Model, cfg: SolverConfig, data, index, valid, norm):
    """Mini-batch loss: the batch's share of the amplitude error + regularisation / n_batches.

    ``data`` = (amplitudes, positions, weights, mask); ``index`` (B,) positions, ``valid`` (B,) 1/0
    (padding of the last batch); ``norm`` the full-data normaliser Σ w m I."""
    _check_solver(params, model, cfg, data, cover=False)
    validate.array(index, "index", ndim=1, kind="integer")
    validate.array(valid, "valid", shape=np.shape(index), kind="real")
    if not validate.is_traced(norm):
        validate.scalar(norm, "norm", "", positive=True)
    params = _freeze(params, cfg)
    return (_batch_error(params, model, data, index, valid, norm)
            + _regulariser(params, cfg) / cfg.n_batches)


def _batches(cfg: SolverConfig, n: int, key=None):
    total = cfg.batch * cfg.n_batches
    order = jnp.arange(total) if key is None else jax.random.permutation(key, total)
    valid = (order < n).astype(jnp.float32)
    return jnp.minimum(order, n - 1).reshape(cfg.n_batches, cfg.batch), valid.reshape(cfg.n_batches, cfg.batch)


def _norm(data):
    amp, _, w, mask = data
    return jnp.sum(w[:, None, None] * mask[None] * amp ** 2)


def _full(params, model, cfg, data):
    """(error, loss) on all positions (gradient accumulated over batches by the caller's AD)."""
    params = _freeze(params, cfg)
    norm = _norm(data)
    idx, valid = _batches(cfg, data[0].shape[0])

    def body(acc, xs):
        i, v = xs
        return acc + _batch_error(params, model, data, i, v.astype(data[0].dtype), norm), None

    err, _ = jax.lax.scan(body, jnp.zeros((), data[0].dtype), (idx, valid))
    return err, err + _regulariser(params, cfg)


@validate.typed
def full_error(params: PtychoParams, model: Model, cfg: SolverConfig, data):
    """Normalised amplitude error of ``params`` on all positions (no regularisation)."""
    _check_solver(params, model, cfg, data)
    return _full_error(params, model, cfg, tuple(data))


@partial(jax.jit, static_argnames=("model", "cfg"))
def _full_error(params: PtychoParams, model: Model, cfg: SolverConfig, data):
    return _full(params, model, cfg, data)[0]


@validate.typed
def init(params: PtychoParams, model: Model, cfg: SolverConfig, key=None) -> PtychoState:
    """Initial state from initial parameters (:func:`~jaxem.ptycho.model.init_params`)."""
    _check_solver(params, model, cfg)
    if key is None:
        key = jax.random.key(0)
    elif not (hasattr(key, "dtype") and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
                                         or (key.dtype == jnp.uint32 and key.shape == (2,)))):
        raise validate.InputTypeError(f"key must be a jax.random.key(...) or None, got {type(key).__name__}")
    return _init(params, cfg, key)


@partial(jax.jit, static_argnames=("cfg",))
def _init(params: PtychoParams, cfg: SolverConfig, key) -> PtychoState:
    dtype = params.phase.dtype
    # strong-typed leaves of one dtype: the state after a step has the same types (no recompile)
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), params)
    if cfg.optimizer == "lbfgs":
        opt_state = lbfgs.init(ravel_pytree(params)[0], cfg.memory)
    else:
        opt_state = _optimizer(params, cfg).init(params)
    zero = jnp.zeros((), dtype)
    return PtychoState(params=params, opt_state=opt_state, loss=zero + jnp.inf, error=zero + jnp.inf,
                       count=jnp.zeros((), jnp.int32), key=key)


@validate.typed
def step(state: PtychoState, model: Model, cfg: SolverConfig, data) -> PtychoState:
    """One epoch (Adam: every mini-batch once, shuffled) or one L-BFGS update; pure and jitted (the
    arguments are checked first, outside ``jit``).

    ``data`` = (amplitudes (P, N_d, N_d), positions (P, 2) [Å], weights (P,), mask (N_d, N_d))."""
    validate.instance(state, "state", PtychoState, "a ptycho.PtychoState (from ptycho.init)")
    _check_solver(state.params, model, cfg, data)
    return _step(state, model, cfg, tuple(data))


@partial(jax.jit, static_argnames=("model", "cfg"))
def _step(state: PtychoState, model: Model, cfg: SolverConfig, data) -> PtychoState:
    params = state.params
    dtype = data[0].dtype
    if cfg.optimizer == "lbfgs":
        flat, unravel = ravel_pytree(params)

        def value_and_grad(x):  # frozen groups have zero gradient (_freeze): L-BFGS leaves them alone
            (val, err), g = jax.value_and_grad(lambda p: _full(p, model, cfg, data)[::-1], has_aux=True)(unravel(x))
            return (val, err), ravel_pytree(g)[0]

        opt_state, flat = lbfgs.update(state.opt_state, flat, value_and_grad, max_backtracks=cfg.max_backtracks,
                                       initial_step=cfg.rate_object or 0.05)
        new, opt_state = _same_types((unravel(flat), opt_state), (params, state.opt_state))
        return state.replace(params=new, opt_state=opt_state, loss=opt_state.value, error=opt_state.aux,
                             count=state.count + 1)

    opt = _optimizer(params, cfg)
    key, sub = jax.random.split(state.key)
    norm = _norm(data)
    idx, valid = _batches(cfg, data[0].shape[0], sub)

    def body(carry, xs):
        p, o = carry
        i, v = xs
        def objective(q):  # (loss, data term): the forward model is traced once
            q = _freeze(q, cfg)
            err = _batch_error(q, model, data, i, v.astype(dtype), norm)
            return err + _regulariser(q, cfg) / cfg.n_batches, err

        (val, err), g = jax.value_and_grad(objective, has_aux=True)(p)
        upd, o = opt.update(g, o, p)
        return (optax.apply_updates(p, upd), o), (val, err)

    (params, opt_state), (vals, errs) = jax.lax.scan(body, (params, state.opt_state), (idx, valid))
    params, opt_state = _same_types((params, opt_state), (state.params, state.opt_state))
    return state.replace(params=params, opt_state=opt_state, loss=jnp.sum(vals), error=jnp.sum(errs),
                         count=state.count + 1, key=key)


@validate.typed
def result(state: PtychoState) -> PtychoParams:
    """The reconstructed parameters."""
    validate.instance(state, "state", PtychoState, "a ptycho.PtychoState")
    return state.params
