import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem.accel import PRECISION_ALIASES, resolve_precision
from jaxem.beam import Beam
from jaxem.hrtem.model import HRTEMModel, aberrations_from_params, column_counts, round_counts, synthesize
from jaxem.hrtem.params import HRTEMParams
from jaxem.optics import Aberrations, image_intensity
from jaxem.optics.aberrations import chi_from_frequencies
from jaxem.potential import potential
from jaxem.propagate import multislice, plane_wave
from jaxem.structure import crystals
from jaxem.validate import InputError, InputTypeError

BEAM = Beam(300e3)


@pytest.fixture(scope="module")
def small():
    s = crystals.BaTiO3().repeat(1, 1, 3)
    m = HRTEMModel(s, BEAM, sampling=0.25, slice_thickness=2.1, method="focal_average", n_focal=3,
                   affine=True, precision="float64")
    p = m.default_params(Aberrations(C10=-40.0, C30=-1e5, C12=10.0, phi12=0.3), thickness=8.0,
                         focal_spread=15.0, convergence=0.2, image_spread=0.15)
    return m, p


def test_columns_of_batio3_001_and_one_beam(small):
    m, p = small
    assert m.n_columns == 4
    assert sorted(map(tuple, m.column_species)) == [(8,), (8,), (8, 22), (56,)]
    assert m.exit_planes == (2, 4, 6) and m.thickness_range == pytest.approx((4.018, 12.054))
    assert m.beam is BEAM and m.energy == 300e3 and not hasattr(m, "wavelength")
    assert isinstance(p, HRTEMParams) and p.xy.shape == (4, 2)
    assert HRTEMModel(crystals.BaTiO3(), "300 kV", sampling=0.5).beam == BEAM


def test_render_matches_direct_pipeline_at_exit_planes(small):
    m, p = small
    s = crystals.BaTiO3().repeat(1, 1, 2)  # independent structure of exactly 2 cells
    # a column has one B: atoms sharing a column (Ti + apical O) carry the column-mean B
    u2_col = np.asarray(m.structure_from_params(p).u2)[:5]
    s = s.replace(u2=jnp.asarray(np.tile(u2_col, (2, 1))))
    pot = potential(s, sampling=0.25, slice_thickness=2.1, debye_waller=True, precision="float64")
    w = multislice(plane_wave(pot.grid, BEAM, precision="float64"), pot)
    ab = aberrations_from_params(p)
    ref = image_intensity(w, ab, focal_spread=15.0, source_angle=0.2, image_spread=(0.15, 0.15),
                          method="focal_average", n_focal=3)
    img = m.render(p.replace(thickness=jnp.float64(2 * m.unit_length)))
    np.testing.assert_allclose(img, ref, rtol=1e-9, atol=1e-10)
    # halfway between planes: the mean of the two plane images
    i2 = m.render(p.replace(thickness=jnp.float64(2 * m.unit_length)))
    i3 = m.render(p.replace(thickness=jnp.float64(3 * m.unit_length)))
    ih = m.render(p.replace(thickness=jnp.float64(2.5 * m.unit_length)))
    np.testing.assert_allclose(ih, 0.5 * (i2 + i3), rtol=1e-10)
    # the shift is the one Fourier shift of jaxem.optics (a whole pixel: a roll)
    sh = m.render(p.replace(thickness=jnp.float64(2 * m.unit_length), shift=jnp.asarray([0.0, m.grid.sampling[1]])))
    np.testing.assert_allclose(sh, np.roll(img, 1, axis=1), atol=1e-9)


def test_cartesian_astigmatism_matches_polar_chi():
    p = HRTEMParams(defocus=30.0, Cs=2e4, A1=jnp.array([3.0, -4.0]), B2=jnp.array([50.0, 20.0]),
                    A2=jnp.array([-30.0, 10.0]), S3=jnp.array([0.0, 0.0]), A3=jnp.array([100.0, -50.0]))
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
    target = m.render(p.replace(defocus=jnp.float64(-30.0))) * 1.01
    p = p.replace(thickness=jnp.float64(2.3 * m.unit_length), rotation=jnp.float64(0.01), scale=jnp.float64(1.01),
                  xy=p.xy + 0.03)

    @jax.jit
    def loss(free):
        return jnp.mean((m._render_impl(p.replace(**free)) - target) ** 2)

    check_grads(loss, ({n: getattr(p, n) for n in names},), order=1, modes=["rev"], eps=1e-5, atol=1e-6, rtol=2e-3)


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
    with pytest.raises(InputError, match="dose must be > 0"):
        synthesize(jax.random.PRNGKey(0), img, dose=-1.0, sampling=0.1)
    with pytest.raises(InputError, match="image holds 1 NaN/inf"):
        synthesize(jax.random.PRNGKey(0), img.at[0, 0].set(jnp.nan), dose=1.0, sampling=0.1)
    with pytest.raises(InputError, match="image must be ≥ 0"):
        synthesize(jax.random.PRNGKey(0), img.at[0, 0].set(-1.0), dose=1.0, sampling=0.1)
    with pytest.raises(InputError, match="readout_noise must be ≥ 0"):
        synthesize(jax.random.PRNGKey(0), img, dose=1.0, sampling=0.1, readout_noise=-1.0)


def test_counts_round_trip(small):
    m, p = small
    q = p.replace(thickness=jnp.float64(2.2 * m.unit_length), occupancy=jnp.array([1.0, 0.52, 0.9, 1.0]))
    np.testing.assert_allclose(column_counts(m, q), q.occupancy * 2.2)
    r = round_counts(m, q)
    assert float(r.thickness) == pytest.approx(2 * m.unit_length)
    np.testing.assert_allclose(np.asarray(r.occupancy) * 2, np.round(np.asarray(q.occupancy) * 2.2))


def test_bad_input(small):
    m, p = small
    with pytest.raises(InputError, match="image must have shape"):
        m.check_data(np.ones((10, 10)))
    bad = np.ones(m.gpts)
    bad[3, 4] = np.nan
    with pytest.raises(InputError, match=r"image holds 1 NaN/inf value\(s\) \(first at index \(3, 4\)\)"):
        m.check_data(bad)
    with pytest.raises(InputError, match="image must have 2 dimensions"):
        m.check_data(np.ones((2,) + tuple(m.gpts)))
    with pytest.raises(InputTypeError, match="image must be a real array"):
        m.check_data(np.ones(m.gpts, complex))
    with pytest.raises(InputError, match="image sampling .* does not match the model sampling"):
        m.check_data(np.ones(m.gpts), sampling=0.1)
    with pytest.raises(InputError, match=r"params.thickness = .* physical range"):
        m.check_params(p.replace(thickness=jnp.float64(100.0)))
    with pytest.raises(InputError, match=r"params.focal_spread = .* physical range"):
        m.check_params(p.replace(focal_spread=jnp.float64(-1.0)))
    with pytest.raises(InputError, match=r"params.xy must have shape \(4, 2\)"):
        m.check_params(p.replace(xy=jnp.zeros((3, 2))))
    with pytest.raises(InputError, match=r"params.defocus holds 1 NaN/inf"):
        m.render(p.replace(defocus=jnp.float64(np.nan)))
    with pytest.raises(InputError, match=r"params.Cs is not set"):
        m.render(p.replace(Cs=None))
    with pytest.raises(InputTypeError, match="params must be jaxem.hrtem.HRTEMParams"):
        m.render({"defocus": 1.0})
    with pytest.raises(InputError, match="method must be one of.*did you mean 'linear'"):
        HRTEMModel(crystals.BaTiO3(), BEAM, method="lineer")
    with pytest.raises(InputError, match="sampling must be in"):
        HRTEMModel(crystals.BaTiO3(), BEAM, sampling=-0.1)
    with pytest.raises(InputError, match="energy must be > 0"):
        HRTEMModel(crystals.BaTiO3(), -300e3)
    with pytest.raises(InputError, match="objective_aperture of 5000 mrad exceeds"):
        HRTEMModel(crystals.BaTiO3(), BEAM, sampling=0.5, objective_aperture=5000.0)
    with pytest.raises(InputTypeError, match="structure must be a jaxem Structure"):
        HRTEMModel("BaTiO3", BEAM)
    with pytest.raises(InputError, match=r"params \(start\).defocus = 5000 Å lies outside its bounds"):
        m.default_bounds(p, ["defocus"]).check(p.replace(defocus=5000.0), "params (start)")
    with pytest.raises(InputError, match="names must be one of"):
        m.default_bounds(p, ["defocuss"])


@pytest.mark.parametrize("alias", PRECISION_ALIASES)
def test_every_precision_alias(alias):
    m = HRTEMModel(crystals.BaTiO3(), BEAM, sampling=0.8, precision=alias)
    assert m.precision == resolve_precision(alias) and m.default_params().defocus.dtype == m.dtype


def _tiny(method, **kw):
    s = crystals.BaTiO3().repeat(1, 1, 3)
    return HRTEMModel(s, BEAM, sampling=0.4, slice_thickness=2.1, method=method, precision="float64", **kw)


def test_explicit_model_limits():
    """``method="explicit"``: zero convergence is the focal average exactly; a small convergence
    approaches the quasi-coherent convergence envelope of ``"focal_average"``; a large one departs."""
    ex = _tiny("explicit", n_focal=4, n_tilt=3)
    fa = _tiny("focal_average", n_focal=4)
    p = ex.default_params(Aberrations(C10=-60.0, C30=-1.5e5), thickness=2.4 * ex.unit_length, focal_spread=20.0)
    np.testing.assert_allclose(ex.render(p), fa.render(p), atol=1e-12)
    diffs = []
    for conv in (0.05, 0.8):
        q = p.replace(convergence=jnp.float64(conv))
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
    target = m.render(p.replace(defocus=jnp.float64(50.0))) * 1.01

    def loss(free):
        return jnp.mean((m._render_impl(p.replace(**free)) - target) ** 2)

    names = ["defocus", "convergence", "focal_spread", "thickness", "xy"]
    check_grads(jax.jit(loss), ({n: getattr(p, n) for n in names},), order=1, modes=["rev"], eps=1e-5, atol=1e-6,
                rtol=2e-3)
