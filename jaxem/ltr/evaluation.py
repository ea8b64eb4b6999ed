"""Denoising evaluation on synthetic data with known truth: PSNR/SSIM against dose, dose equivalence.

Protocol: for each dose fraction f, every component of a :class:`~jaxem.ltr.synthetic.SyntheticLTR`
is scaled by f — the same beam and dose axis (so the same damage kinetics), recorded as if by a
detector that counts the fraction f of the electrons — events are drawn, each method
estimates the summed pattern per position, and the estimate rescaled by 1/f is compared with the
expected full-dose summed pattern (PSNR over all positions, mean SSIM per position). Methods compared
at matched dose: the plain sum, the denoisers of :mod:`jaxem.ltr.denoise` and the low-rank baseline.
The dose-equivalence factor of a method is the fraction f* at which it reaches the plain sum's PSNR
at full dose (:func:`jaxem.ltr.metrics.dose_equivalence_factor`).
"""
from __future__ import annotations

import numpy as np

from .. import validate

from .denoise import denoise_stacks, lowrank
from .events import densify
from .metrics import dose_equivalence_factor, psnr, ssim
from .synthetic import SyntheticLTR, expected_frames, simulate_events


def scaled(spec: SyntheticLTR, fraction: float) -> SyntheticLTR:
    """``spec`` with every recorded electron count scaled by ``fraction`` in (0, 1]: the same beam
    (scan step, dose per frame, dose axis), recorded with the counting efficiency ``fraction``."""
    if not isinstance(spec, SyntheticLTR):
        raise validate.InputTypeError(f"spec must be a SyntheticLTR, got {type(spec).__name__}")
    fraction = validate.scalar(fraction, "fraction", lo=0.0, hi=1.0, lo_open=True)
    return spec.replace(intensity=tuple(float(x) for x in fraction * np.asarray(spec.intensity)),
                        direct_beam=fraction * spec.direct_beam, halo=fraction * spec.halo,
                        flat=fraction * spec.flat, scan_step=spec.dose.scan_step)


@validate.typed
def evaluate_denoising(spec: SyntheticLTR, fractions=(0.1, 0.2, 0.35, 0.5, 0.7, 1.0),
                       methods=("plain", "persistence", "spca", "lowrank"), seed: int = 0,
                       lowrank_rank: int = 4) -> dict:
    """PSNR [dB] and SSIM of each method at each dose fraction, and dose-equivalence factors.

    Returns:
        dict with ``fractions``, ``electrons_per_frame`` (mean at each fraction), ``psnr`` and
        ``ssim`` (method → list per fraction), ``fallbacks`` (method → positions that fell back),
        ``dose_equivalence`` (method → f*), ``reference_psnr`` (plain sum at full dose).
    """
    if not isinstance(spec, SyntheticLTR):
        raise validate.InputTypeError(f"spec must be a SyntheticLTR, got {type(spec).__name__}")
    validate.array(fractions, "fractions", ndim=1, kind="real")
    fr = np.sort(np.asarray(fractions, np.float64))
    if fr[-1] != 1.0 or fr[0] <= 0:
        raise validate.InputError(f"fractions must lie in (0, 1] and include 1.0 (the full dose reference), got "
                                  f"{fractions}")
    for m in methods:
        validate.choice(m, "methods", ("plain", "persistence", "spca", "lowrank"))
    pos = np.arange(spec.n_positions)
    truth = expected_frames(spec, pos).sum(1)
    out = {"fractions": fr.tolist(), "psnr": {m: [] for m in methods}, "ssim": {m: [] for m in methods},
           "fallbacks": {m: [] for m in methods}, "electrons_per_frame": []}
    for i, f in enumerate(fr):
        ev = simulate_events(scaled(spec, f), seed=seed + i)
        X = densify(ev).astype(np.float32)
        out["electrons_per_frame"].append(float(X.sum((2, 3)).mean()))
        plain = X.sum(1)
        for m in methods:
            if m == "lowrank":
                est, fb = lowrank(plain, lowrank_rank), np.zeros(len(pos), int)
            else:
                est, fb = denoise_stacks(X, m)
            est = est / f
            out["psnr"][m].append(float(psnr(est, truth)))
            out["ssim"][m].append(float(np.mean([ssim(e, t) for e, t in zip(est, truth)])))
            out["fallbacks"][m].append(int(np.sum(fb)))
    ref = out["psnr"]["plain"][-1] if "plain" in methods else float(psnr(densify(simulate_events(spec, seed)).sum(1), truth))
    out["reference_psnr"] = ref
    out["dose_equivalence"] = {m: dose_equivalence_factor(fr, out["psnr"][m], ref) for m in methods}
    return out
