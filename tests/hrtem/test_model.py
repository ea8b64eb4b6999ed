import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem.hrtem.model import HRTEMModel, aberrations_from_params, column_counts, round_counts, synthesize
from jaxem.optics import Aberrations
from jaxem.optics.aberrations import chi_from_frequencies
from jaxem.optics.imaging import hrtem_image
from jaxem.potential import potential
from jaxem.propagate import multislice, plane_wave
from jaxem.structure import crystals


@pytest.fixture(scope="module")
def small():
    s = crystals.BaTiO3().repeat(1, 1, 3)
    m = HRTEMModel(s, 300e3, sampling=0.25, slice_thickness=2.1, method="focal_average", n_focal=3,
                   affine=True, precision="float64")
    p = m.default_params(Aberrations(C10=-40.0, C30=-1e5, C12=10.0, phi12=0.3), thickness=8.0,
                         focal_spread=15.0, convergence=0.2, image_spread=0.15)
    return m, p


def test_columns_of_batio3_001(small):
    m, _ = small
    assert m.n_columns == 4
    assert sorted(map(tuple, m.column_species)) == [(8,), (8,), (8, 22), (56,)]
    assert m.exit_planes == (2, 4, 6) and m.thickness_range == pytest.approx((4.018, 12.054))


def test_render_matches_direct_pipeline_at_exit_planes(small):
    m, p = small
    s = crystals.BaTiO3().repeat(1, 1, 2)  # independent structure of exactly 2 cells
    # a column has one B: atoms sharing a column (Ti + apical O) carry the column-mean B
    u2_col = np.asarray(m.structure_from_params(p).u2)[:5]
    s = s.replace(u2=jnp.asarray(np.tile(u2_col, (2, 1))))
    pot = potential(s, sampling=0.25, slice_thickness=2.1, debye_waller=True, precision="float64")
    w = multislice(plane_wave(pot.grid, 300e3, precision="float64"), pot)
    ab = aberrations_from_params(p)
    ref = hrtem_image(w.array, pot.grid, 300e3, ab, focal_spread=15.0, source_angle=0.2, image_spread=(0.15, 0.15),
                      method="focal_average", n_focal=3)
    img = m.render({**p, "thickness": jnp.float64(2 * m.unit_length)})
    np.testing.assert_allclose(img, ref, rtol=1e-9, atol=1e-10)
    # halfway between planes: the mean of the two plane images
    i2 = m.render({**p, "thickness": jnp.float64(2 * m.unit_length)})
    i3 = m.render({**p, "thickness": jnp.float64(3 * m.unit_length)})
    ih = m.render({**p, "thickness": jnp.float64(2.5 * m.unit_length)})
    np.testing.assert_allclose(ih, 0.5 * (i2 + i3), rtol=1e-10)


def test_cartesian_astigmatism_matches_polar_chi():
    p = {"defocus": 30.0, "Cs": 2e4, "A1": jnp.array([3.0, -4.0]), "B2": jnp.array([50.0, 20.0]),
         "A2": jnp.array([-30.0, 10.0]), "S3": jnp.array([0.0, 0.0]), "A3": jnp.array([100.0, -50.0])}
    ab = aberrations_from_params(p)
    ky = kx = jnp.linspace(-1, 1, 9)
    lam = 0.0197
    # independent: χ from Cartesian components a cos mφ + b sin mφ
    kyy, kxx = ky[:, None], kx[None, :]
    al, ph = lam * jnp.hypot(kyy, kxx), jnp.arctan2(kyy, kxx)
    ref = (2 * np.pi / lam) * (-30.0 * al**2 / 2 + 2e4 * al**4 / 4
                               + al**2 / 2 * (3.0 * jnp.cos(2 * ph) - 4.0 * jnp.sin(2 * ph))
                               + al**3 / 3 * (50 * jnp.cos(ph) + 20 * jnp.sin(ph))
                               + al**3 / 3 * (-30 * jnp.cos(3 * ph) + 10 * jnp.sin(3 * ph))
                               + al**4 / 4 * (100 * jnp.cos(4 * ph) - 50 * jnp.sin(4 * ph)))
    np.testing.assert_allclose(chi_from_frequencies(ab, ky, kx, lam), ref, rtol=1e-6, atol=1e-6)


def test_check_grads_float64(small):
    m, p = small
    names = ["defocus", "Cs", "A1", "B2", "focal_spread", "convergence", "image_spread", "thickness", "xy", "B",
             "occupancy", "shift", "rotation", "scale", "background", "contrast"]
    target = m.render({**p, "defocus": jnp.float64(-30.0)}) * 1.01
    p = {**p, "thickness": jnp.float64(2.3 * m.unit_length), "rotation": jnp.float64(0.01),
         "scale": jnp.float64(1.01), "xy": p["xy"] + 0.03}

    @jax.jit
    def loss(free):
        return jnp.mean((m._render_impl({**p, **free}) - target) ** 2)

    check_grads(loss, ({n: p[n] for n in names},), order=1, modes=["rev"], eps=1e-5, atol=1e-6, rtol=2e-3)


def test_synthesize_poisson_statistics():
    img = jnp.full((128, 128), 0.8)
    out = synthesize(jax.random.PRNGKey(0), img, dose=400.0, sampling=0.1, readout_noise=0.0)
    n_e = 400.0 * 0.01
    assert float(jnp.mean(out)) == pytest.approx(0.8, rel=0.02)
    assert float(jnp.var(out)) == pytest.approx(0.8 / n_e, rel=0.05)  # Var(N)/n² = I/n
    counts = np.asarray(out) * n_e
    assert np.allclose(counts, np.round(counts))
    out2 = synthesize(jax.random.PRNGKey(0), img, dose=400.0, sampling=0.1, readout_noise=2.0)
    assert float(jnp.var(out2)) == pytest.approx(0.8 / n_e + 4.0 / n_e**2, rel=0.05)
    with pytest.raises(ValueError, match="dose"):
        synthesize(jax.random.PRNGKey(0), img, dose=-1.0, sampling=0.1)
    with pytest.raises(ValueError, match="non-negative"):
        synthesize(jax.random.PRNGKey(0), img.at[0, 0].set(jnp.nan), dose=1.0, sampling=0.1)


def test_counts_round_trip(small):
    m, p = small
    q = {**p, "thickness": jnp.float64(2.2 * m.unit_length), "occupancy": jnp.array([1.0, 0.52, 0.9, 1.0])}
    np.testing.assert_allclose(column_counts(m, q), q["occupancy"] * 2.2)
    r = round_counts(m, q)
    assert float(r["thickness"]) == pytest.approx(2 * m.unit_length)
    np.testing.assert_allclose(np.asarray(r["occupancy"]) * 2, np.round(np.asarray(q["occupancy"]) * 2.2))


def test_bad_input(small):
    m, p = small
    with pytest.raises(ValueError, match="image must have shape"):
        m.check_data(np.ones((10, 10)))
    bad = np.ones(m.gpts)
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.check_data(bad)
    with pytest.raises(ValueError, match="sampling"):
        m.check_data(np.ones(m.gpts), sampling=0.1)
    with pytest.raises(ValueError, match="thickness.*physical range"):
        m.check_params({**p, "thickness": jnp.float64(100.0)})
    with pytest.raises(ValueError, match="focal_spread.*physical range"):
        m.check_params({**p, "focal_spread": jnp.float64(-1.0)})
    with pytest.raises(ValueError, match="shape"):
        m.check_params({**p, "xy": jnp.zeros((3, 2))})
    with pytest.raises(ValueError, match="method"):
        HRTEMModel(crystals.BaTiO3(), 300e3, method="tcc")
    with pytest.raises(ValueError, match="sampling"):
        HRTEMModel(crystals.BaTiO3(), 300e3, sampling=-0.1)
    with pytest.raises(ValueError, match="outside its bounds"):
        m.default_bounds(p, ["defocus"]).check({**p, "defocus": 5000.0})


def _tiny(method, **kw):
    s = crystals.BaTiO3().repeat(1, 1, 3)
    return HRTEMModel(s, 300e3, sampling=0.4, slice_thickness=2.1, method=method, precision="float64", **kw)


def test_explicit_model_limits():
    """``method="explicit"``: zero convergence is the focal average exactly; a small convergence
    approaches the quasi-coherent convergence envelope of ``"focal_average"``; a large one departs."""
    ex = _tiny("explicit", n_focal=4, n_tilt=3)
    fa = _tiny("focal_average", n_focal=4)
    p = ex.default_params(Aberrations(C10=-60.0, C30=-1.5e5), thickness=2.4 * ex.unit_length, focal_spread=20.0)
    np.testing.assert_allclose(ex.render(p), fa.render(p), atol=1e-12)
    diffs = []
    for conv in (0.05, 0.8):
        q = {**p, "convergence": jnp.float64(conv)}
        a, b = np.asarray(ex.render(q)), np.asarray(fa.render(q))
        diffs.append(np.linalg.norm(a - b) / np.linalg.norm(a - a.mean()))
    print("explicit vs focal_average+convergence envelope, 0.05 and 0.8 mrad:", diffs)
    assert diffs[0] < 1e-3 < diffs[1]
    # the linear model keeps only the interference with the central beam: exact at the vacuum,
    # first order otherwise
    lin = _tiny("linear")
    assert np.all(np.isfinite(np.asarray(lin.render(p))))


def test_explicit_model_check_grads_float64():
    m = _tiny("explicit", n_focal=2, n_tilt=2)
    p = m.default_params(Aberrations(C10=-60.0, C30=-1.5e5), thickness=2.3 * m.unit_length, focal_spread=20.0,
                         convergence=0.4)
    target = m.render({**p, "defocus": jnp.float64(50.0)}) * 1.01

    def loss(free):
        return jnp.mean((m._render_impl({**p, **free}) - target) ** 2)

    names = ["defocus", "convergence", "focal_spread", "thickness", "xy"]
    check_grads(jax.jit(loss), ({n: p[n] for n in names},), order=1, modes=["rev"], eps=1e-5, atol=1e-6,
                rtol=2e-3)
