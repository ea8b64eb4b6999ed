"""Training of the FFT-spot U-Net on batches rendered on device (init/step/result, optax, orbax).

Each :func:`step` renders a fresh batch from the simulated bank (:func:`jaxem.ml.render.render_batch`),
takes a random ``crop``² window of the FFT input and label map (the network is fully convolutional,
so it is applied to the full 256² FFT at inference), applies a random 90° rotation and flip (they
map spot labels onto spot labels), and takes one Adam step on the class-weighted binary cross
entropy

    L = ⟨ w₊ t · softplus(−z) + (1 − t) · softplus(z) ⟩,   t ∈ [0, 1] the label map, z the logit,

with w₊ = ``pos_weight`` compensating for the rarity of spot pixels. Nothing leaves the device inside
a step. Checkpoints: :func:`save_checkpoint`/:func:`load_checkpoint` (orbax, for resuming) and
:func:`save_weights`/:func:`load_weights` (one flax msgpack file + JSON with a SHA-256, the shipped
format under ``jaxem/data/ml``).
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import atomic, pytree, validate
from .bank import Bank
from .render import RenderConfig, render_batch
from .unet import UNet, UNetConfig, init_variables


@pytree.dataclass
class TrainState:
    """Training state (a pytree). Static: network/render configuration, learning rate, batch, crop."""

    params: dict
    batch_stats: dict
    opt_state: tuple
    key: jnp.ndarray
    step: jnp.ndarray
    loss: jnp.ndarray
    config: UNetConfig = pytree.field(static=True, default=UNetConfig())
    render: RenderConfig = pytree.field(static=True, default=RenderConfig())
    learning_rate: float = pytree.field(static=True, default=1e-3)
    batch: int = pytree.field(static=True, default=8)
    crop: int = pytree.field(static=True, default=128)
    pos_weight: float = pytree.field(static=True, default=10.0)
    crops: int = pytree.field(static=True, default=2)


def _optimizer(lr: float):
    return optax.adam(lr)


@validate.typed
def init(key, config: UNetConfig = UNetConfig(), render: RenderConfig = RenderConfig(), learning_rate: float = 1e-3,
         batch: int = 8, crop: int = 128, pos_weight: float = 10.0, crops: int = 2, variables=None) -> TrainState:
    """A fresh training state (or one starting from ``variables``). Each step renders ``batch // crops``
    images and takes ``crops`` random windows of each (rendering dominates the cost on a CPU)."""
    learning_rate = validate.scalar(learning_rate, "learning_rate", positive=True)
    batch = validate.integer(batch, "batch", lo=1)
    crops = validate.integer(crops, "crops", lo=1, hi=batch)
    if batch % crops:
        raise validate.InputError(f"batch ({batch}) must be a multiple of crops ({crops})")
    crop = validate.integer(crop, "crop", lo=16, hi=render.n)
    if crop % 8:
        raise validate.InputError(f"crop must be a multiple of 8 px (three 2× poolings), got {crop}")
    k1, k2 = jax.random.split(key)
    v = init_variables(k1, config, crop) if variables is None else variables
    params, stats = v["params"], v.get("batch_stats", {})
    return TrainState(params, stats, _optimizer(learning_rate).init(params), k2, jnp.zeros((), jnp.int32),
                      jnp.zeros(()), config, render, float(learning_rate), batch, crop, float(pos_weight), crops)


def weighted_bce(logits, target, pos_weight):
    """Class-weighted binary cross-entropy (mean over pixels) of ``logits`` against ``target`` ∈ [0, 1]
    with positives weighted by ``pos_weight`` (tracers pass: it is the training loss)."""
    validate.array(logits, "logits", kind="real")
    validate.array(target, "target", kind="real", shape=np.shape(logits) if not validate.is_traced(logits) else None)
    validate.array(pos_weight, "pos_weight", kind="real", nonnegative=True)
    return jnp.mean(pos_weight * target * jax.nn.softplus(-logits) + (1.0 - target) * jax.nn.softplus(logits))


def _augment(key, x, t, crop):
    n = x.shape[-1]
    k1, k2, k3 = jax.random.split(key, 3)
    off = jax.random.randint(k1, (2,), 0, n - crop + 1)
    x = jax.lax.dynamic_slice(x, (0, off[0], off[1]), (x.shape[0], crop, crop))
    t = jax.lax.dynamic_slice(t, (0, off[0], off[1]), (t.shape[0], crop, crop))
    r = jax.random.randint(k2, (), 0, 4)
    x = jax.lax.switch(r, [lambda a, i=i: jnp.rot90(a, i, axes=(1, 2)) for i in range(4)], x)
    t = jax.lax.switch(r, [lambda a, i=i: jnp.rot90(a, i, axes=(1, 2)) for i in range(4)], t)
    flip = jax.random.bernoulli(k3)
    return jnp.where(flip, x[:, :, ::-1], x), jnp.where(flip, t[:, :, ::-1], t)


@functools.partial(jax.jit, donate_argnums=(0,))
@validate.typed
def step(state: TrainState, bank: Bank) -> TrainState:
    """One optimisation step on a freshly rendered batch (see module docstring)."""
    validate.instance(state, "state", TrainState, "a TrainState from ml.train.init")
    validate.instance(bank, "bank", Bank, "a Bank from ml.simulate_zone")
    key, k_render, k_aug = jax.random.split(state.key, 3)
    sample = render_batch(k_render, bank, state.batch // state.crops, state.render)
    xs, ts = [], []
    for k in jax.random.split(k_aug, state.crops):
        x, t = _augment(k, sample.fft, sample.target, state.crop)
        xs.append(x)
        ts.append(t)
    x, t = jnp.concatenate(xs), jnp.concatenate(ts)
    net = UNet(state.config)

    def loss_fn(params):
        logits, upd = net.apply({"params": params, "batch_stats": state.batch_stats}, x, train=True,
                                mutable=["batch_stats"])
        return weighted_bce(logits, t, state.pos_weight), upd

    (loss, upd), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = _optimizer(state.learning_rate).update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return state.replace(params=params, batch_stats=upd.get("batch_stats", state.batch_stats), opt_state=opt_state,
                         key=key, step=state.step + 1, loss=loss)


@validate.typed
def result(state: TrainState) -> dict:
    """The trained variables {'params', 'batch_stats'}."""
    validate.instance(state, "state", TrainState, "a TrainState from ml.train.init")
    return {"params": state.params, "batch_stats": state.batch_stats}


@validate.typed
def fit(state: TrainState, bank: Bank, n_steps: int, log_every: int = 10, callback=None):
    """Driver: ``n_steps`` steps, returns (state, [(step, mean loss of the last ``log_every``)])."""
    n_steps = validate.integer(n_steps, "n_steps", lo=0)
    curve, acc = [], []
    for i in range(n_steps):
        state = step(state, bank)
        acc.append(state.loss)
        if (i + 1) % log_every == 0 or i + 1 == n_steps:
            curve.append((int(state.step), float(np.mean(jax.device_get(acc)))))
            acc = []
            if callback is not None:
                callback(state, curve)
    return state, curve


# ----------------------------------------------------------------------------- files

@validate.typed
def save_weights(path, variables, config: UNetConfig, info: dict | None = None) -> Path:
    """Write ``<path>.msgpack`` (flax serialisation) and ``<path>.json`` (config, info, SHA-256) atomically."""
    from flax import serialization

    path = validate.path(path, "path", must_exist=False)
    validate.instance(config, "config", UNetConfig)
    if not isinstance(variables, dict) or "params" not in variables:
        raise validate.InputTypeError(f"variables must be the network's variables {{'params': …, 'batch_stats': …}}, "
                                      f"got {type(variables).__name__}")
    data = serialization.to_bytes(jax.device_get(variables))
    meta = {"format": "jaxem-ffnet-unet/1", "filters": config.filters, "layers": list(config.layers),
            "batch_norm": config.batch_norm, "sha256": hashlib.sha256(data).hexdigest(), "info": info or {}}
    atomic.atomic_write_bytes(path.with_suffix(".msgpack"), data)
    atomic.atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1))
    return path.with_suffix(".msgpack")


def load_weights(path) -> tuple[UNetConfig, dict, dict]:
    """(config, variables, info) from :func:`save_weights` files; ``FileFormatError`` when the file is
    damaged (checksum, size or structure mismatch)."""
    from flax import serialization

    path = validate.path(path, "path", must_exist=False)
    meta_path, data_path = path.with_suffix(".json"), path.with_suffix(".msgpack")
    validate.path(meta_path, "path (weights JSON)")
    validate.path(data_path, "weights (msgpack)")
    with validate.reading(meta_path, "U-Net weights description"):
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != "jaxem-ffnet-unet/1":
            raise validate.FileFormatError(meta_path, f"not a jaxem U-Net weights file (format {meta.get('format')!r})")
        config = UNetConfig(int(meta["filters"]), tuple(meta["layers"]), bool(meta["batch_norm"]))
    data = data_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise validate.FileFormatError(data_path, f"checksum mismatch (damaged or replaced weights file; expected "
                                                  f"sha256 {meta['sha256'][:12]}…)")
    template = jax.eval_shape(lambda k: init_variables(k, config, 16), jax.random.PRNGKey(0))  # no compile
    with validate.reading(data_path, "U-Net weights"):
        variables = serialization.msgpack_restore(data)
        want = jax.tree_util.tree_map(lambda x: tuple(x.shape), template)
        got = jax.tree_util.tree_map(lambda x: tuple(np.shape(x)), variables)
        if jax.tree_util.tree_structure(want) != jax.tree_util.tree_structure(got) or want != got:
            raise validate.FileFormatError(data_path, f"weights do not fit the network described in {meta_path.name} "
                                                      f"(filters {config.filters}, layers {config.layers})")
        variables = jax.tree_util.tree_map(jnp.asarray, variables)
    return config, variables, meta.get("info", {})


def default_weights_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("jaxem") / "data" / "ml" / "ffnet_unet.msgpack"))


def load_default() -> tuple[UNetConfig, dict, dict]:
    """The shipped weights (trained by ``tools/train_ffnet.py``)."""
    return load_weights(default_weights_path())


@validate.typed
def save_checkpoint(directory, state: TrainState) -> Path:
    """Orbax checkpoint of the full training state (params, BatchNorm statistics, optimiser, key, step)."""
    import orbax.checkpoint as ocp

    directory = validate.path(directory, "directory", must_exist=False).absolute()
    validate.instance(state, "state", TrainState, "a TrainState from ml.train.init")
    tree = {"params": state.params, "batch_stats": state.batch_stats, "opt_state": state.opt_state,
            "key": jax.random.key_data(state.key) if jnp.issubdtype(state.key.dtype, jax.dtypes.prng_key)
            else state.key, "step": state.step}
    with atomic.atomic_path(directory, is_dir=True) as tmp:
        ckpt = ocp.StandardCheckpointer()
        ckpt.save(Path(tmp).absolute() / "state", tree)
        ckpt.wait_until_finished()
    return directory


@validate.typed
def load_checkpoint(directory, template: TrainState) -> TrainState:
    """Restore a :func:`save_checkpoint` directory into a state shaped like ``template``."""
    import orbax.checkpoint as ocp

    directory = validate.path(directory, "directory (checkpoint)", kind="dir")
    validate.instance(template, "template", TrainState, "a TrainState from ml.train.init")
    tree = {"params": template.params, "batch_stats": template.batch_stats, "opt_state": template.opt_state,
            "key": template.key, "step": template.step}
    with validate.reading(directory, "orbax checkpoint"):
        restored = ocp.StandardCheckpointer().restore(Path(directory).absolute() / "state", tree)
    return template.replace(params=restored["params"], batch_stats=restored["batch_stats"],
                            opt_state=restored["opt_state"], key=restored["key"], step=restored["step"])
