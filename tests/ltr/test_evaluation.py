import numpy as np
import pytest

from jaxem.ltr.evaluation import evaluate_denoising, scaled
from jaxem.ltr.synthetic import SyntheticLTR


def test_evaluation_protocol_reports_gain():
    spec = SyntheticLTR(scan_shape=(3, 3), n_frames=30, shift_amplitude=1.0, halo=30, flat=10)
    r = evaluate_denoising(spec, fractions=(0.25, 0.5, 1.0), methods=("plain", "persistence"))
    p = r["psnr"]
    assert np.all(np.diff(p["plain"]) > 0)                      # more dose, better PSNR
    assert all(d >= q for d, q in zip(p["persistence"], p["plain"]))  # never worse at matched dose
    assert r["dose_equivalence"]["plain"] == pytest.approx(1.0)
    assert r["dose_equivalence"]["persistence"] < 1.0
    assert r["ssim"]["persistence"][-1] > r["ssim"]["plain"][-1]
    assert r["electrons_per_frame"][0] == pytest.approx(0.25 * r["electrons_per_frame"][-1], rel=0.1)


def test_scaled_rejects_bad_fraction():
    with pytest.raises(ValueError, match="fraction"):
        scaled(SyntheticLTR(), 0.0)
