"""Detection helpers: input checks, matching, Friedel filter, baselines, and the shipped U-Net on an easy
rendered FFT; the CLI end to end on an image file."""
import jax
import numpy as np
import pytest

from jaxem import validate
from jaxem.ml import peaks as D
from jaxem.ml import render

from .conftest import EASY, SI, kinematic_bank


@pytest.mark.parametrize("image, match", [(np.zeros((64, 80)), "square"), (np.zeros((32, 32)), "at least 64"),
                                          (np.full((64, 64), np.nan), "image"), (np.zeros(64), "image")])
def test_bad_images(image, match):
    with pytest.raises(validate.InputError, match=match):
        D.canonical_image(image)


def test_canonical_resampling_keeps_frequencies():
    """A cosine of period 4 Å imaged at 0.2 Å/px lands at |k| = 0.25 1/Å in the canonical FFT."""
    y, x = np.mgrid[:400, :400] * 0.2
    img = 1 + 0.2 * np.cos(2 * np.pi * x / 4.0)
    can = D.canonical_image(img, pixel_size=0.2)
    mag = np.array(render.fft_input(can)[1])
    mag[126:131, 126:131] = 0
    r, c = np.unravel_index(np.argmax(mag), mag.shape)
    assert r == 128 and abs(abs(D.to_g([[r, c]])[0, 0]) - 0.25) < 0.01


def test_match_and_friedel_by_hand():
    tp, fp, fn, d = D.match([[10, 10], [50, 50], [90, 90]], [[10.5, 10], [52.5, 50], [200, 200]], 2.0)
    assert (tp, fp, fn) == (1, 2, 2) and np.allclose(d, 0.5)
    pos = np.array([[100.0, 120.0], [156.4, 136.0], [30.0, 30.0]])
    kept, _ = D.friedel_filter(pos, np.ones(3), 256, tol=1.5)
    assert len(kept) == 2 and np.allclose(kept[0] + kept[1], 256)
    assert D.friedel_consistency(pos) == pytest.approx(2 / 3)


def test_unet_and_baselines_on_easy_fft(tables):
    bk = render.device_bank(kinematic_bank([tables[(SI, (1, 1, 0))]]))
    smp = jax.device_get(render.render_batch(jax.random.PRNGKey(4), bk, 1, render.RenderConfig(**EASY)))
    true = smp.spots[0][smp.visible[0]]
    mag = np.asarray(render.fft_input(smp.image[0])[1])
    spots = D.detect(x=smp.fft[0], fft_mag=mag)
    tp, fp, fn, d = D.match(spots.positions, true, 2.0)
    s = D.scores(tp, fp, fn)
    assert s["precision"] >= 0.95 and s["recall"] >= 0.9 and np.sqrt(np.mean(d**2)) < 0.5
    assert D.friedel_consistency(spots.positions) == 1.0
    for fn_ in (D.detect_peak_local_max, D.detect_blob_log):
        pos, _ = fn_(mag)
        assert D.scores(*D.match(pos, true, 2.0)[:3])["precision"] >= 0.9


def test_cli_index(tmp_path, gui_db, capsys):
    from jaxem.cli.main import main

    import zarr

    image = np.asarray(zarr.open_group(str(gui_db / "entries" / "ncrystal_Si_sg227__1_1_0"), mode="r")["images"][0])
    np.save(tmp_path / "si.npy", image)
    out = tmp_path / "r.json"
    assert main(["ml", "index", str(tmp_path / "si.npy"), "--db", str(gui_db), "--pixel-size", "0.4",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ncrystal:Si_sg227 [1 1 0]" in text and out.exists()
    assert main(["ml", "index", str(tmp_path / "si.npy"), "--db", str(gui_db)]) == 2
    assert "--pixel-size" in capsys.readouterr().err


def _blob(n, r, c, p, sigma=1.0):
    yy, xx = np.mgrid[:n, :n]
    return p * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * sigma**2))


def test_hysteresis_and_crowded_seeds():
    """Step 3 by hand: a p = 0.7 pair is kept only where |F| shows it (robust z ≥ Z_MIN); two p = 0.95
    pairs 2 px apart (one connected component above threshold) give two spots, not one."""
    n = 256
    rng = np.random.default_rng(0)
    mag = np.exp(rng.normal(0.0, 0.3, (n, n)))  # log|F| noise, robust σ ≈ 0.3
    prob = np.zeros((n, n))
    for (r, c) in [(100, 90), (60, 180)]:  # weak-probability pairs; only the first is in the FFT
        prob = np.maximum(prob, _blob(n, r, c, 0.7))
        prob = np.maximum(prob, _blob(n, n - r, n - c, 0.7))
    for (r, c) in [(100, 90), (n - 100, n - 90)]:
        mag[r, c] *= np.exp(3.0)  # z ≈ 10 robust σ
    for (r, c) in [(150, 200), (150, 202)]:  # crowded strong pairs
        prob = np.maximum(prob, _blob(n, r, c, 0.99, 2.5))
        prob = np.maximum(prob, _blob(n, n - r, n - c, 0.99, 2.5))
    assert (prob > D.THRESHOLD)[150, 200:203].all()  # one connected component
    pos, _ = D.peaks_from_probability(prob, mag, climb=0)
    found = {tuple(np.round(p).astype(int)) for p in pos}
    assert {(100, 90), (156, 166), (150, 200), (150, 202), (106, 56), (106, 54)} == found
    pos_off, _ = D.peaks_from_probability(prob, mag, climb=0, low=None)
    assert {tuple(np.round(p).astype(int)) for p in pos_off} == {(150, 200), (150, 202), (106, 56), (106, 54)}
