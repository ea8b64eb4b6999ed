"""Detection metrics: bootstrap interval over images, miss records, the detector's search region and the local
SNR measure, each against a by-hand or analytic expectation."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxem.ml import evaluate
from jaxem.ml import peaks as D


def test_bootstrap_interval_by_hand():
    """Identical images: every resample has the same pooled scores (a zero-width interval at the value); unequal
    images: the interval holds the pooled F1 and shrinks ≈ 1/√(images) (×4 images → about half the width)."""
    same = np.tile([[9, 1, 2]], (20, 1))
    ci = evaluate.bootstrap_interval(same, n_boot=200)
    f1 = 2 * 9 / (2 * 9 + 1 + 2)
    assert ci["f1"] == pytest.approx([f1, f1]) and ci["precision"] == pytest.approx([0.9, 0.9])
    rng = np.random.default_rng(1)
    tp = rng.integers(5, 30, 400)
    counts = np.stack([tp, rng.binomial(tp, 0.05), rng.binomial(tp, 0.08)], 1)
    wide = evaluate.bootstrap_interval(counts[:100], n_boot=2000)["f1"]
    narrow = evaluate.bootstrap_interval(counts, n_boot=2000)["f1"]
    pooled = D.scores(*(int(v) for v in counts.sum(0)))["f1"]
    assert narrow[0] < pooled < narrow[1]
    assert 0.35 < (narrow[1] - narrow[0]) / (wide[1] - wide[0]) < 0.7
    assert np.isnan(evaluate.bootstrap_interval(np.zeros((0, 3)))["f1"][0])


def _image(spots, visible, snr, prob_at, n=256):
    yy, xx = np.mgrid[:n, :n]
    prob = np.zeros((n, n))
    mag = np.exp(np.random.default_rng(0).normal(0.0, 0.3, (n, n)))
    for (r, c) in prob_at:
        prob = np.maximum(prob, 0.99 * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / 2.0))
        mag[r, c] *= 30.0
    return {"prob": prob, "mag": mag, "spots": np.asarray(spots, float), "visible": np.asarray(visible),
            "snr": np.asarray(snr, float), "grain": np.zeros(len(spots), int), "grains": 1}


def test_detection_metrics_on_given_inputs():
    """Two hand-made images: a found pair (tp 2), a missed labelled pair (fn 2, SNR 7), a detected unlabelled
    pair next to a sub-threshold label (fp 2, label SNR 4) and a strong spot at the border, which the search
    region drops (not counted)."""
    a = _image([[100, 90], [156, 166], [60, 180], [196, 76]], [True, True, True, True], [20, 20, 7, 7],
               [(100, 90), (156, 166)])
    b = _image([[70, 100], [186, 156]], [False, False], [4.0, 4.0], [(70, 100), (186, 156), (1, 128), (255, 128)])
    res = evaluate.detection_metrics(inputs={100.0: [a, b]}, baselines=False, details=True, n_boot=50)[100.0]
    u = res["unet"]
    assert (u["precision"], u["recall"]) == pytest.approx((0.5, 0.5)) and u["images"] == 2
    assert u["ci95"]["f1"][0] <= u["f1"] <= u["ci95"]["f1"][1]
    fn = [m for m in res["misses"] if m["kind"] == "fn"]
    fp = [m for m in res["misses"] if m["kind"] == "fp"]
    assert len(fn) == 2 and {m["snr"] for m in fn} == {7.0} and all(m["image"] == 0 for m in fn)
    assert len(fp) == 2 and all(m["nearest_label_px"] < 0.5 and m["nearest_label_snr"] == 4.0 for m in fp)
    # difficult spots ignored (band [3.5, 6.5)): the SNR-4 detections are neither tp nor fp; SNR 7 still counts
    e = u["ignoring_difficult"]
    assert (e["precision"], e["recall"]) == pytest.approx((1.0, 0.5)) and e["band"] == [3.5, 6.5]
    e = evaluate.detection_metrics(inputs={100.0: [a, b]}, baselines=False, n_boot=50,
                                   difficult=(3.5, 8.0))[100.0]["unet"]["ignoring_difficult"]
    assert (e["precision"], e["recall"]) == pytest.approx((1.0, 1.0))
    assert "ignoring_difficult" not in evaluate.detection_metrics(inputs={100.0: [a, b]}, baselines=False, n_boot=20,
                                                                  difficult=None)[100.0]["unet"]


def test_baseline_thresholds_add_named_baselines():
    a = _image([[100, 90], [156, 166]], [True, True], [20, 20], [(100, 90), (156, 166)])
    res = evaluate.detection_metrics(inputs={20.0: [a]}, n_boot=20,
                                     baseline_thresholds={"peak_local_max": (3.5, 4.0), "blob_log": 1.5})[20.0]
    assert {"peak_local_max@3.5", "peak_local_max@4", "blob_log@1.5"} <= set(res)
    assert D.PEAK_LOCAL_MAX_K == 3.5 and D.BLOB_LOG_K == 1.5
    assert res["peak_local_max@3.5"]["f1"] == res["peak_local_max"]["f1"]  # the shipped defaults
    assert res["blob_log@1.5"]["f1"] == res["blob_log"]["f1"]


def test_match_ignore_by_hand():
    """A prediction on a difficult spot is not a false positive; a second one on the same difficult spot is
    (one-to-one); true positives and false negatives do not change."""
    true, hard = [[10, 10], [50, 50]], [[90, 90]]
    pred = [[10.5, 10], [90, 91], [90.5, 90], [200, 200]]
    assert D.match(pred, true, 2.0)[:3] == (1, 3, 1)
    assert D.match(pred, true, 2.0, ignore=hard)[:3] == (1, 2, 1)
    assert D.match(pred, true, 2.0, ignore=hard + [[200, 201]])[:3] == (1, 1, 1)
    # a prediction closer to a difficult spot than to a true one still matches the true one first
    assert D.match([[11.5, 10]], true, 2.0, ignore=[[12, 10]])[:3] == (1, 0, 1)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 12), st.integers(0, 12), st.integers(0, 8), st.integers(0, 2**31 - 1))
def test_match_ignore_only_lowers_false_positives(n_pred, n_true, n_hard, seed):
    """Property: difficult spots leave tp and fn unchanged and lower fp by at most their number (never below 0)."""
    rng = np.random.default_rng(seed)
    pred, true, hard = (rng.uniform(0, 30, (m, 2)) for m in (n_pred, n_true, n_hard))
    tp, fp, fn, _ = D.match(pred, true, 2.0)
    tp2, fp2, fn2, _ = D.match(pred, true, 2.0, ignore=hard)
    assert (tp2, fn2) == (tp, fn) and max(0, fp - n_hard) <= fp2 <= fp


@pytest.mark.parametrize("bad", [(5.0, 3.0), (-1.0, 2.0), "x", (1.0, 2.0, 3.0), (np.nan, 2.0)])
def test_bad_difficult_band(bad):
    from jaxem import validate

    a = _image([[100, 90]], [True], [20], [(100, 90)])
    with pytest.raises(validate.InputError, match="difficult"):
        evaluate.detection_metrics(inputs={20.0: [a]}, n_boot=5, difficult=bad)
    with pytest.raises(validate.InputError, match="difficult"):
        evaluate.label_ceiling({20.0: [a]}, n_boot=5, difficult=bad)
    with pytest.raises(validate.InputError, match="baseline_thresholds"):
        evaluate.detection_metrics(inputs={20.0: [a]}, n_boot=5, baseline_thresholds={"log": 3.0})


def test_search_region_by_hand():
    n = 256
    pos = [[128, 131], [128, 135], [1, 128], [128, 254], [128 + 129, 128], [128 + 95, 128 + 95], [128, 128 + 120]]
    assert D._in_support(pos, n).tolist() == [False, True, False, False, False, False, True]
    assert D._in_support(pos, n, r_max=200.0, edge=0.5).tolist() == [False, True, True, True, False, True, True]


def test_local_snr_against_rayleigh_noise():
    """|F| of circular complex Gaussian noise (E|N|² = σ² = 4) plus spots of amplitude S = 10 σ: the measured SNR at
    the spots is S/σ within the noise (|S + N|/σ has sd ≈ 0.7), and the background median is √(ln 2)·σ/σ̂ ≈ 1."""
    rng = np.random.default_rng(3)
    n, sigma = 128, 2.0
    f = sigma / np.sqrt(2) * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    spots = [(20, 30), (40, 90), (70, 50), (100, 100), (90, 20)]
    for (r, c) in spots:
        f[r, c] += 10 * sigma
    snr = D._local_snr(np.abs(f))
    at = np.array([snr[r, c] for r, c in spots])
    assert np.all(np.abs(at - 10) < 2.5) and abs(at.mean() - 10) < 1.0
    assert np.median(np.abs(f)) / sigma == pytest.approx(np.sqrt(np.log(2)), rel=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: evaluate.bootstrap_interval(np.ones((4, 2))), "counts"),
    (lambda: evaluate.bootstrap_interval(-np.ones((4, 3))), "counts"),
    (lambda: evaluate.bootstrap_interval(np.ones((4, 3)), n_boot=0), "n_boot"),
    (lambda: D._in_support(np.ones((3, 3)), 256), "pos"),
    (lambda: D._local_snr(np.ones((16, 20))), "fft_mag"),
])
def test_bad_arguments(call, match):
    from jaxem import validate

    with pytest.raises(validate.InputError, match=match):
        call()


def test_label_ceiling_by_hand():
    """The oracle calls a spot at its exact position from the measured SNR: a bright labelled pair (tp 2), an
    unlabelled bright pair (fp 2), a labelled pair with nothing in |F| (fn 2); the border spot is outside the
    search region and not counted."""
    a = _image([[100, 90], [156, 166], [60, 180], [196, 76], [70, 100], [186, 156], [1, 128]],
               [True, True, False, False, True, True, False], [20, 20, 4, 4, 6, 6, 30],
               [(100, 90), (156, 166), (60, 180), (196, 76), (1, 128)])
    c = evaluate.label_ceiling({100.0: [a]}, n_boot=20)[100.0]
    assert (c["precision"], c["recall"]) == pytest.approx((0.5, 0.5))
    # ignoring difficult spots: the unlabelled SNR-4 pair is difficult (no fp), the labelled SNR-6 pair too (no fn)
    e = c["ignoring_difficult"]
    assert (e["precision"], e["recall"]) == pytest.approx((1.0, 1.0))


def test_split_difficult_by_hand():
    spots = [[100, 90], [60, 180], [70, 100], [1, 128], [128, 130]]
    visible = [True, True, False, False, False]
    snr = [20.0, 6.0, 4.0, 5.0, 5.0]
    certain, hard = evaluate.split_difficult(spots, visible, snr)
    # SNR 20 visible: certain; SNR 6 visible and SNR 4: difficult; the border and near-centre spots: outside
    assert certain.tolist() == [True, False, False, False, False]
    assert hard.tolist() == [False, True, True, False, False]
    c0, h0 = evaluate.split_difficult(np.zeros((0, 2)), np.zeros(0, bool), np.zeros(0))
    assert c0.shape == h0.shape == (0,)
    from jaxem import validate

    with pytest.raises(validate.InputError, match="snr"):
        evaluate.split_difficult(spots, visible, snr[:3])
