"""Tiny-network training smoke test (the full training is tools/train_ffnet.py): on an easy set the
loss decreases and the detection F1 exceeds a floor."""
import jax
import numpy as np

from jaxem.ml import peaks as D
from jaxem.ml import render, train
from jaxem.ml.unet import UNetConfig

from .conftest import EASY, SI, kinematic_bank


def test_tiny_training_smoke(tables):
    bk = render.device_bank(kinematic_bank([tables[(SI, (1, 1, 0))]], strength=0.1))
    # 64² canonical images (Δk = 0.039 1/Å: Si [110]'s spots at 8–30 px), full-image crops: the compilation
    # of the rendering + U-Net gradient step dominates (steps take ~20 ms), and it scales with the image size
    cfg = render.RenderConfig(n=64, **EASY)
    state = train.init(jax.random.PRNGKey(0), UNetConfig(4, (1, 1, 1, 1)), cfg, learning_rate=1e-2, batch=2,
                       crop=64, crops=1, pos_weight=20.0)
    state, curve = train.fit(state, bk, 200, log_every=20)
    losses = [c[1] for c in curve]
    assert losses[-1] < 0.7 * losses[0]
    smp = jax.device_get(render.render_batch(jax.random.PRNGKey(9), bk, 2, cfg))
    prob = np.asarray(D.probability(smp.fft, state.config, train.result(state)))
    tp = fp = fn = 0
    for b in range(2):
        assert smp.visible[b].sum() >= 6
        pos, _ = D.peaks_from_probability(prob[b], np.asarray(render.fft_input(smp.image[b])[1]), threshold=0.5)
        t = D.match(pos, smp.spots[b][smp.visible[b]], 2.0)
        tp, fp, fn = tp + t[0], fp + t[1], fn + t[2]
    assert D.scores(tp, fp, fn)["f1"] > 0.8
