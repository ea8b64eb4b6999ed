"""The ptychography driver: a loop over :func:`~jaxem.ptycho.solver.step` with a progress bar, a loss
history against wall time, checkpoints with resume, and the result as Measurements with axes.

Checkpoints: the state's leaves (parameters, optimiser state, counters, random key) and the history
are written to one ``.npz`` file through :func:`jaxem.atomic.atomic_path` (a reader sees the previous
complete checkpoint or the new one, never a partial file), together with a fingerprint of the static
configuration (model, solver, data shape). ``resume=True`` continues from a checkpoint with the same
fingerprint and refuses one that differs (a different problem), naming what differs. A single file
of NumPy arrays is enough for a state this simple (orbax would add a tensorstore dependency and an
asynchronous writer for no gain here).
"""
from __future__ import annotations

import hashlib
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..atomic import atomic_path
from ..measurement import Axis, Measurement
from ..optics import Aberrations
from . import solver
from .data import PtychoData, prepare
from .model import Model, PtychoParams, init_params, probe_spectra, transmissions

__all__ = ["PtychoResult", "reconstruct", "bytes_per_position"]


@pytree.dataclass(eq=False)
class PtychoResult:
    """Outcome of :func:`reconstruct`.

    Attributes:
        object: Measurement (slice, y, x) of the slice phases φ [rad] (axes in Å, scan coordinates).
        transmission: Measurement (slice, y, x) of the complex transmissions t = e^{iφ − μ}.
        probe: Measurement (mode, y, x) of the real-space probe modes ψ_m (complex; Σ|ψ|² = intensity
            fraction of each mode).
        params: the final :class:`~jaxem.ptycho.model.PtychoParams`.
        state: the final :class:`~jaxem.ptycho.solver.PtychoState` (continue with ``state=``).
        history: (n, 4) rows (epoch, wall time [s], loss, amplitude error).
        error: final amplitude error on all positions (parameters after the last epoch).
        aberrations: the fitted (or reference) :class:`~jaxem.optics.Aberrations`.
        positions: (P, 2) corrected probe positions (y, x) [Å] in scan coordinates.
    """

    object: Measurement = pytree.field(static=True)
    transmission: Measurement = pytree.field(static=True)
    probe: Measurement = pytree.field(static=True)
    params: Any
    state: Any
    history: Any = pytree.field(static=True)
    error: float = pytree.field(static=True)
    aberrations: Any
    positions: Any


@validate.typed
def bytes_per_position(model: Model, n_modes: int, itemsize: int = 8) -> int:
    """Working set of one probe position in a gradient step [bytes]: per mode the S + 1 waves kept for
    reverse-mode AD plus FFT buffers, and the S transmission patches with their gradients.

    Args:
        model: the static :class:`~jaxem.ptycho.model.Model`.
        n_modes: M probe modes (≥ 1).
        itemsize: bytes of one complex number's real part pair (8: complex64, 16: complex128).
    """
    validate.instance(model, "model", Model, "a ptycho.Model")
    n_modes = validate.integer(n_modes, "n_modes", lo=1)
    itemsize = validate.integer(itemsize, "itemsize", lo=1, hi=64)
    wy, wx = model.geometry.window
    s = model.n_slices
    return int(wy * wx * itemsize * (n_modes * (s + 8) + 3 * s))


def _fingerprint(model: Model, cfg: solver.SolverConfig, data: PtychoData, n_modes: int) -> str:
    text = repr((model, cfg, tuple(data.amplitudes.shape), n_modes, str(data.amplitudes.dtype)))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _save(path: Path, state, history, fingerprint: str) -> None:
    leaves = jax.tree_util.tree_leaves(state)
    arrays = {f"leaf{i}": np.asarray(jax.random.key_data(x) if _is_key(x) else x) for i, x in enumerate(leaves)}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, history=np.asarray(history, np.float64), fingerprint=np.asarray(fingerprint),
                     n_leaves=np.asarray(len(leaves)), **arrays)


def _is_key(x) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _load(path: Path, template, fingerprint: str):
    with validate.reading(path, "ptychography checkpoint"):
        with np.load(path, allow_pickle=False) as z:
            found = str(z["fingerprint"])
            if found != fingerprint:
                raise validate.InputError(f"checkpoint {path} belongs to another reconstruction (configuration "
                                          f"fingerprint {found}, this one {fingerprint}): give another path or "
                                          f"resume=False")
            leaves, treedef = jax.tree_util.tree_flatten(template)
            if int(z["n_leaves"]) != len(leaves):
                raise validate.FileFormatError(f"checkpoint {path}: {int(z['n_leaves'])} arrays, expected "
                                               f"{len(leaves)}")
            new = []
            for i, t in enumerate(leaves):
                a = z[f"leaf{i}"]
                if _is_key(t):
                    new.append(jax.random.wrap_key_data(jnp.asarray(a)))
                    continue
                if np.shape(a) != np.shape(t):
                    raise validate.FileFormatError(f"checkpoint {path}: array {i} has shape {np.shape(a)}, "
                                                   f"expected {np.shape(t)}")
                new.append(jnp.asarray(a, dtype=jnp.asarray(t).dtype))
            history = [tuple(r) for r in np.asarray(z["history"]).reshape(-1, 4)]
    return jax.tree_util.tree_unflatten(treedef, new), history


def reconstruct(data, n_slices: int = 1, slice_thickness=None, n_modes: int = 1, iterations: int = 20,
                optimizer: str = "adam", rate_object: float = 0.05, rate_probe: float = 0.01,
                rate_positions: float = 0.0, fit_aberrations=(), rate_aberrations: float = 1.0, tv: float = 0.0, kz: float = 0.0,
                warm_start: int = 0, start="auto", absorption_l2: float = 0.0, batch: int | None = None, memory_budget=None, mode_power: float = 0.1,
                aberrations=None, state=None, checkpoint=None, checkpoint_every: int = 10, resume: bool = True,
                seed: int = 0, progress: bool = True, callback=None, precision=None, **prepare_kwargs) -> PtychoResult:
    """Multislice (or single-slice, ``n_slices=1``) ptychography by gradient descent.

    Args:
        data: a calibrated :class:`~jaxem.phase.Dataset4D` (simulated or read from a vendor file) or
            prepared :class:`~jaxem.ptycho.data.PtychoData`.
        n_slices: object slices S (1: single-slice ptychography).
        slice_thickness: Δz [Å] between slices (required for S > 1; ignored for S = 1).
        n_modes: incoherent probe modes M (mixed state).
        iterations: epochs (Adam) or L-BFGS updates to run (in addition to a resumed state's).
        optimizer: ``"adam"`` (mini-batches) or ``"lbfgs"`` (full batch).
        rate_object, rate_probe, rate_positions, rate_aberrations: Adam learning rates [rad, 1, Å,
            Å or rad] per group; 0 freezes a group (for L-BFGS only zero / non-zero matters).
        fit_aberrations: names of the aberration coefficients to fit (e.g. ``("C10", "C12", "phi12")``).
        tv: total-variation weight on the slice phases; absorption_l2: L2 weight on the absorption.
        kz: weight of the depth (k_z) regularisation, λ_kz Σ_s ⟨(φ_{s+1} − φ_s)²⟩ (S > 1).
        start: the starting object: ``"icom"`` (the integrated centre of mass of the data, scaled by the
            data error, :mod:`~jaxem.ptycho.seed` — its sign is right at any thickness, where a start
            from vacuum can fall into an inverted-contrast minimum for strong specimens), ``"vacuum"``
            (φ = 0), ``"auto"`` (iCoM for a grid scan, vacuum for a list of positions), or an array of
            initial phases [rad], (S, O_y, O_x) or (O_y, O_x) (split evenly over the slices).
        warm_start: for S > 1, epochs of a single-slice reconstruction (same settings) run first; its
            phase and absorption, split evenly over the S slices, its probe, aberrations and positions
            start the multislice run (a fresh start only, not a resumed one).
        batch: positions per mini-batch (default: from ``memory_budget`` and the working set of a
            position, :func:`bytes_per_position`, through :func:`jaxem.accel.batch_size`).
        memory_budget: bytes or e.g. ``"2G"`` (default: accel policy).
        mode_power: intensity fraction of the initial modes 1 … M − 1.
        aberrations: reference probe aberrations (default: the dataset's).
        state: a :class:`~jaxem.ptycho.solver.PtychoState` to continue from.
        checkpoint: path of a ``.npz`` checkpoint written every ``checkpoint_every`` epochs and at the end.
        resume: continue from ``checkpoint`` if it exists (same configuration).
        seed: seed of the mini-batch shuffling.
        progress: show a progress bar; callback: ``f(epoch, state)`` after every epoch.
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32).
        **prepare_kwargs: for a Dataset4D, arguments of :func:`~jaxem.ptycho.data.prepare`
            (``oversampling``, ``object_extent``, ``positions``, ``scan_origin``, ``padding``).
    Returns:
        :class:`PtychoResult`.
    """
    from ..phase.dataset import Dataset4D

    if isinstance(data, Dataset4D):
        ref = data.aberrations if aberrations is None else aberrations
        data = prepare(data, precision=precision, **prepare_kwargs)
    elif isinstance(data, PtychoData):
        if prepare_kwargs:
            raise validate.InputError(f"{sorted(prepare_kwargs)} apply to a Dataset4D; data is already prepared")
        ref = aberrations if aberrations is not None else Aberrations()
    else:
        raise validate.InputTypeError(f"data must be a jaxem.phase.Dataset4D or ptycho.PtychoData, got "
                                      f"{type(data).__name__}")
    if not isinstance(ref, Aberrations):
        raise validate.InputTypeError(f"aberrations must be a jaxem Aberrations, got {type(ref).__name__}")
    n_slices = validate.integer(n_slices, "n_slices", lo=1, hi=1000)
    if n_slices > 1:
        if slice_thickness is None:
            raise validate.InputError(f"slice_thickness [Å] is needed for n_slices = {n_slices} > 1")
        dz = validate.scalar(slice_thickness, "slice_thickness", "Å", positive=True)
    else:
        dz = 0.0
    n_modes = validate.integer(n_modes, "n_modes", lo=1, hi=32)
    iterations = validate.integer(iterations, "iterations", lo=0)
    optimizer = validate.choice(optimizer, "optimizer", solver.OPTIMIZERS)
    rates = {name: validate.scalar(v, name, "", nonnegative=True) for name, v in
             (("rate_object", rate_object), ("rate_probe", rate_probe), ("rate_positions", rate_positions),
              ("rate_aberrations", rate_aberrations))}
    names = tuple(fit_aberrations) if not isinstance(fit_aberrations, str) else (fit_aberrations,)
    for n in names:
        if n not in Aberrations.__dataclass_fields__:
            hint = validate.closest(n, list(Aberrations.__dataclass_fields__))
            raise validate.InputError(f"fit_aberrations: unknown coefficient {n!r}"
                                      + (f" (did you mean {hint!r}?)" if hint else ""))
    tv = validate.scalar(tv, "tv", "1/rad", nonnegative=True)
    kz = validate.scalar(kz, "kz", "1/rad²", nonnegative=True)
    warm_start = validate.integer(warm_start, "warm_start", lo=0)
    absorption_l2 = validate.scalar(absorption_l2, "absorption_l2", "", nonnegative=True)
    mode_power = validate.scalar(mode_power, "mode_power", "", lo=0.0, hi=0.9)
    checkpoint_every = validate.integer(checkpoint_every, "checkpoint_every", lo=1)

    model = Model(geometry=data.geometry, n_slices=n_slices, slice_thickness=dz,
                  reference=tuple((k, float(np.asarray(v))) for k, v in ref.to_dict().items()))
    n = data.n_positions
    itemsize = np.dtype(data.amplitudes.dtype).itemsize * 2
    if batch is None:
        batch = accel.batch_size(bytes_per_position(model, n_modes, itemsize), n, memory_budget,
                                 cpu_cap=2 ** 30)
    batch = validate.integer(batch, "batch", lo=1, hi=n)
    cfg = solver.SolverConfig(optimizer=optimizer, **rates, fit_aberrations=names, tv=tv, kz=kz,
                              absorption_l2=absorption_l2, batch=batch, n_batches=-(-n // batch))
    arrays = (data.amplitudes, data.positions, data.weights, data.detector_mask)

    history: list = []
    fp = _fingerprint(model, cfg, data, n_modes)
    path = None if checkpoint is None else Path(checkpoint)
    start_used = None
    if state is None:
        params = init_params(model, n, n_modes, mode_power, precision=precision)
        resuming = path is not None and resume and path.exists()
        if warm_start and n_slices > 1 and not resuming:
            single = reconstruct(data, n_slices=1, n_modes=n_modes, iterations=warm_start, optimizer=optimizer,
                                 **rates, fit_aberrations=names, tv=tv, absorption_l2=absorption_l2, batch=batch,
                                 mode_power=mode_power, aberrations=ref, seed=seed, progress=progress,
                                 precision=precision, start=start if isinstance(start, str) else
                                 np.sum(np.asarray(start, np.float64).reshape((-1,) + np.shape(start)[-2:]), 0))
            start_used = single.object.metadata.get("start")
            p1 = single.params
            params = params.replace(phase=jnp.repeat(p1.phase / n_slices, n_slices, axis=0),
                                    absorption=jnp.repeat(p1.absorption / n_slices, n_slices, axis=0),
                                    probe=p1.probe, aberrations=p1.aberrations, offsets=p1.offsets)
        elif not resuming:
            phi, start_used = _starting_phase(start, data, model, cfg, arrays, params)
            params = params.replace(phase=jnp.asarray(phi, params.phase.dtype))
        state = solver.init(params, model, cfg, jax.random.key(seed))
    elif not isinstance(state, solver.PtychoState):
        raise validate.InputTypeError(f"state must be a PtychoState, got {type(state).__name__}")
    if path is not None and resume and path.exists():
        state, history = _load(path, state, fp)

    from tqdm.auto import tqdm

    t0 = time.perf_counter() - (history[-1][1] if history else 0.0)
    done = int(state.count)
    bar = tqdm(total=iterations, desc="ptychography (epochs)", disable=not progress, unit="epoch")
    for i in range(iterations):
        state = solver._step(state, model, cfg, arrays)  # arrays checked by prepare: no per-epoch check
        loss_v, err_v = float(state.loss), float(state.error)
        history.append((done + i + 1, time.perf_counter() - t0, loss_v, err_v))
        bar.update(1)
        bar.set_postfix(error=f"{err_v:.4g}")
        if callback is not None:
            callback(done + i + 1, state)
        if path is not None and ((i + 1) % checkpoint_every == 0 or i + 1 == iterations):
            _save(path, state, history, fp)
    bar.close()
    if path is not None and iterations == 0 and not path.exists():
        _save(path, state, history, fp)

    params = solver.result(state)
    err = float(solver._full_error(params, model, cfg, arrays))
    return _result(params, state, model, data, history, err, start_used)


def _starting_phase(start, data: PtychoData, model: Model, cfg, arrays, params):
    """(S, O_y, O_x) starting phases and a JSON-ready record of how they were chosen."""
    from . import seed as _seed

    s, shape = model.n_slices, tuple(model.geometry.object_shape)
    if isinstance(start, str):
        start = validate.choice(start, "start", ("auto", "icom", "vacuum"))
        if start == "auto":
            start = "icom" if len(data.scan_shape) == 2 else "vacuum"
        if start == "vacuum":
            return np.zeros((s,) + shape), {"kind": "vacuum"}
        dtype = params.phase.dtype
        phi, a = _seed.icom_seed(data, s, lambda p: solver._full_error(params.replace(phase=jnp.asarray(p, dtype)),
                                                                       model, cfg, arrays))
        return phi, {"kind": "icom", "scale": a}
    arr = np.asarray(validate.array(start, "start", kind="real", finite=True, units="rad"), np.float64)
    if arr.shape == shape:
        arr = np.repeat(arr[None] / s, s, axis=0)
    if arr.shape != (s,) + shape:
        raise validate.InputError(f"start: an initial phase array must have shape {(s,) + shape} or {shape} (slices, "
                                  f"object pixels), got {arr.shape}")
    return arr, {"kind": "array"}


@partial(jax.jit, static_argnames=("model",))
def _outputs(params: PtychoParams, model: Model):
    """Transmissions and real-space probe modes (one compiled function)."""
    return transmissions(params), jnp.fft.ifft2(probe_spectra(params, model))


def _result(params: PtychoParams, state, model: Model, data: PtychoData, history, err, start=None) -> PtychoResult:
    g = model.geometry
    sy, sx = g.sampling
    oy, ox = g.origin
    axes = (Axis("slice", model.slice_thickness or 1.0, "Å" if model.slice_thickness else "pixels"),
            Axis("y", sy, "Å", oy), Axis("x", sx, "Å", ox))
    beam = {"energy": {"value": g.beam.energy, "units": "eV"}}
    ab = params.aberrations
    md = {"quantity": "phase", "units": "rad", "title": "ptychographic slice phases", "method": "ptychography",
          **beam, "n_slices": model.n_slices, "slice_thickness": {"value": model.slice_thickness, "units": "Å"},
          "periodic": g.periodic, "amplitude_error": err, "epochs": int(state.count),
          "aberrations": Aberrations(**{k: float(np.asarray(v)) for k, v in ab.to_dict().items()}).to_metadata(),
          "preparation": data.report, "start": start}
    obj = Measurement(np.asarray(params.phase), axes, md)
    trans_arr, waves = _outputs(params, model)
    trans = Measurement(np.asarray(trans_arr), axes,
                        {**md, "quantity": "transmission", "units": "1", "title": "slice transmissions"})
    waves = np.fft.fftshift(np.asarray(waves), axes=(-2, -1))
    wy, wx = g.window
    paxes = (Axis("mode", 1.0, "pixels"), Axis("y", sy, "Å", -(wy // 2) * sy), Axis("x", sx, "Å", -(wx // 2) * sx))
    power = np.sum(np.abs(waves) ** 2, axis=(-2, -1))
    probe = Measurement(waves, paxes, {"quantity": "probe wave", "units": "1", "title": "probe modes", **beam,
                                       "mode_power": power.tolist(),
                                       "semiangle": {"value": g.semiangle, "units": "mrad"}})
    off = np.asarray(params.offsets)
    pos = np.asarray(data.positions) + off - off.mean(0) + np.asarray(g.origin)[None]
    hist = np.asarray(history, np.float64).reshape(-1, 4)
    return PtychoResult(obj, trans, probe, params, state, hist, err, ab, pos)
