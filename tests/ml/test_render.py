"""On-device renderer: Fourier-series image against a direct evaluation, Poisson sampler statistics,
label positions against the FFT peak of a noise-free image, and the simulated bank against the
kinematic lattice."""
import jax
import jax.numpy as jnp
import numpy as np

from jaxem.ml import bank as B
from jaxem.ml import render
from jaxem.ml.peaks import _subpixel

from .conftest import EASY, kinematic_bank


def test_poisson_sampler_moments():
    rate = jnp.concatenate([jnp.full(20000, 0.7), jnp.full(20000, 6.0), jnp.full(20000, 60.0)])
    x = np.asarray(render.poisson(jax.random.PRNGKey(0), rate)).reshape(3, -1)
    for lam, row in zip((0.7, 6.0, 60.0), x):
        assert abs(row.mean() - lam) < 4 * np.sqrt(lam / row.size)
        assert abs(row.var() / lam - 1) < 0.05
        assert np.all(row == np.round(row)) and row.min() >= 0


def test_labels_at_fft_peaks(tables):
    """Noise-free single component: the FFT maximum (sub-pixel) sits on the label within 0.15 px."""
    t = tables[("ncrystal:Si_sg227", (1, 1, 0))]
    bk = kinematic_bank([t], strength=0.05, keep=1)
    smp = jax.device_get(render.render_batch(jax.random.PRNGKey(2), render.device_bank(bk), 1, render.RenderConfig(**EASY)))
    for b in range(1):
        mag = np.asarray(render.fft_input(smp.image[b])[1])
        spot = smp.spots[b][smp.visible[b]][0]
        r, c = int(round(spot[0])), int(round(spot[1]))
        win = mag[r - 2:r + 3, c - 2:c + 3]
        i, j = np.unravel_index(np.argmax(win), win.shape)
        rr, cc = _subpixel(np.log(mag), r - 2 + i, c - 2 + j)
        assert np.hypot(rr - spot[0], cc - spot[1]) < 0.35
        # and the mate is at the centrosymmetric position
        mates = smp.spots[b][smp.visible[b]]
        assert np.min(np.linalg.norm(mates + spot - 256, axis=1)) < 1e-3


def test_series_against_direct_sum():
    """The (n×K)(K×n) product equals Σ 2a cos(2π k·r + φ) evaluated directly."""
    k = np.array([[0.11, -0.23], [0.37, 0.05]])
    a = np.array([0.1, 0.04])
    ph = np.array([0.3, -1.2])
    pad = lambda v, shape: np.concatenate([v, np.zeros(shape)])  # noqa: E731
    bk = B.Bank(pad(k, (30, 2))[None], pad(a, 30)[None], pad(ph, 30)[None], np.zeros(1, np.int32), np.ones(1),
                np.zeros(1))
    smp = jax.device_get(render.render_batch(jax.random.PRNGKey(1), render.device_bank(bk), 1, render.RenderConfig(**EASY)))
    th, mir, s = float(smp.rotation[0, 0]), bool(smp.mirror[0, 0]), float(smp.scale[0, 0])
    kk = k * np.array([1, -1 if mir else 1])
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    kr = s * kk @ R.T
    img = smp.image[0] / 1e7
    y, x = np.mgrid[:256, :256] * 0.4
    ty, tx = smp.shift[0, 0]
    direct = 1 + sum(2 * a[i] * np.cos(2 * np.pi * (kr[i, 0] * (x - tx) + kr[i, 1] * (y - ty)) + ph[i]) for i in range(2))
    np.testing.assert_allclose(img, direct, atol=2e-3)  # Poisson noise at 1e7 e⁻/px: 3e-4 rms


def test_multislice_bank_on_kinematic_lattice(si, tables):
    """Spots of the multislice-simulated periodic image lie on the zone's reciprocal lattice (same frame)."""
    from jaxem.ml.kinematic import zone_frame, zone_table

    bk, oriented = B.simulate_zone(si, (1, 0, 0), thicknesses=(20.0,), defoci=(0.0,), sampling=0.25,
                                   n_components=12)
    t = zone_table(si, (1, 0, 0), frame=zone_frame(si, (1, 0, 0)))
    for k in bk.k[0][bk.amplitude[0] > 1e-4]:
        assert np.min(np.linalg.norm(t.g - k, axis=1)) < 1e-6
    assert bk.amplitude[0].max() > 1e-3  # weak-phase contrast of 20 Å Si in focus


def test_label_dose_fixes_the_ground_truth(tables):
    """The same key rendered at 2 and at 100 e⁻/px: with a label dose the labels (visible, SNR) are identical; judged
    at the image's own dose, without amorphous background (shot noise only) SNR ∝ √dose exactly and the 2 e⁻/px
    labels are a subset of the 100 e⁻/px ones."""
    t = tables[("ncrystal:Si_sg227", (1, 1, 0))]
    bk = render.device_bank(kinematic_bank([t], strength=0.02))
    base = dict(p_two_grains=0.0, p_full=1.0, amorphous=(0.0, 0.0), drift=0.0)
    key = jax.random.PRNGKey(4)

    def labels(dose, label_dose):
        cfg = render.RenderConfig(dose=(dose, dose), label_dose=label_dose, **base)
        smp = jax.device_get(render.render_batch(key, bk, 1, cfg))
        return np.asarray(smp.visible[0]), np.asarray(smp.snr[0])

    v2, s2 = labels(2.0, 100.0)
    v100, s100 = labels(100.0, 100.0)
    assert np.array_equal(v2, v100) and np.allclose(s2, s100, rtol=1e-6) and v2.sum() >= 6
    o2, r2 = labels(2.0, None)
    o100, r100 = labels(100.0, None)
    np.testing.assert_allclose(r100, s100, rtol=1e-6)
    live = r100 > 0
    np.testing.assert_allclose(r2[live] / r100[live], np.sqrt(2.0 / 100.0), rtol=1e-5)
    assert np.all(o100[o2]) and o2.sum() < o100.sum()
