"""Focal (and other aberration / coherence) series through hrtem_image, image_intensity and ctf
(jaxem.optics.series): one jitted call, a calibrated series axis, gradients, clear errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import physics, validate
from jaxem.grid import Grid
from jaxem.measurement import Axis
from jaxem.optics import Aberrations, ctf, ctf_profile, hrtem_image, image_intensity, imaging, probe
from jaxem.propagate import waves_from_array

E = 200e3
LAM = physics.wavelength(E)
GRID = Grid((32, 32), (0.25, 0.25))
C10 = np.array([-120.0, -60.0, 0.0])  # Δf = 120, 60, 0 Å


def _wave(dtype=np.complex128, seed=0, lead=()):
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=lead + GRID.gpts)
    return waves_from_array(np.exp(0.3j * phi).astype(dtype), GRID, E)


KW = dict(objective_aperture=20.0, focal_spread=25.0, source_angle=0.3, n_focal=6, n_tilt=2)


@pytest.mark.parametrize("method", ["coherent", "focal_average", "envelope", "explicit"])
@pytest.mark.parametrize("dtype,tol", [(np.complex64, 1e-6), (np.complex128, 1e-12)])
def test_series_equals_single_calls(method, dtype, tol):
    w = _wave(dtype)
    got = hrtem_image(w, Aberrations(C10=C10, C30=2e4), method=method, **KW)
    assert got.shape == (3,) + GRID.gpts
    for i, c in enumerate(C10):
        one = hrtem_image(w, Aberrations(C10=c, C30=2e4), method=method, **KW)
        np.testing.assert_allclose(np.asarray(got.array[i]), np.asarray(one.array), rtol=0, atol=tol)
    assert got.array.dtype == (jnp.float32 if dtype == np.complex64 else jnp.float64)


def test_focal_series_matches_analytic_weak_object():
    """ψ = 1 + iε cos(2πk·x) (exactly two side beams) imaged coherently: the image wave is
    1 + iε cos(2πk·x) e^{−iχ(k)}, so I = 1 + 2ε cos sin χ + ε² cos² with χ = πλk²(½C_sλ²k² − Δf)."""
    ny, nx = GRID.gpts
    m = 3  # frequency index along x
    k = m / (nx * GRID.sampling[1])
    x = np.arange(nx) * GRID.sampling[1]
    c = np.broadcast_to(np.cos(2 * np.pi * k * x), (ny, nx))
    eps, cs = 0.05, 3e5
    w = waves_from_array(1 + 1j * eps * c, GRID, E)
    img = np.asarray(hrtem_image(w, Aberrations(C10=C10, C30=cs), method="coherent").array)
    for i, df in enumerate(-C10):
        chi = np.pi * LAM * k**2 * (0.5 * cs * LAM**2 * k**2 - df)
        np.testing.assert_allclose(img[i], 1 + 2 * eps * c * np.sin(chi) + eps**2 * c**2, rtol=0, atol=1e-12)


def test_series_axis_even_uneven_and_others():
    w = _wave()
    m = hrtem_image(w, Aberrations(C10=C10), method="coherent")
    assert m.axes[0] == Axis("defocus", -60.0, "Å", 120.0)  # Δf = −C10: 120, 60, 0 Å
    np.testing.assert_allclose(m.to_xarray().coords["defocus"].values, [120.0, 60.0, 0.0])
    assert m.metadata["series"]["parameters"]["C10"] == {"value": C10.tolist(), "units": "Å"}
    assert m.metadata["aberrations"]["C10"]["value"] == C10.tolist()
    # uneven spacing: an index axis, the values in the metadata
    uneven = np.array([-100.0, -50.0, 20.0])
    m = hrtem_image(w, Aberrations(C10=uneven), method="coherent")
    assert m.axes[0] == Axis("series", 1.0, "index")
    assert m.metadata["series"]["parameters"]["C10"]["value"] == uneven.tolist()
    # another coefficient and a coherence parameter keep their names and units
    m = hrtem_image(w, Aberrations(C30=np.array([1e4, 2e4, 3e4])), method="coherent")
    assert m.axes[0] == Axis("C30", 1e4, "Å", 1e4)
    m = hrtem_image(w, focal_spread=np.array([0.0, 10.0, 20.0]), method="envelope")
    assert m.axes[0] == Axis("focal_spread", 10.0, "Å", 0.0)
    assert m.metadata["focal_spread"] == {"value": [0.0, 10.0, 20.0], "units": "Å"}
    # a single-element series still has its axis (value in the offset)
    m = hrtem_image(w, Aberrations(C10=np.array([-40.0])), method="coherent")
    assert m.shape == (1,) + GRID.gpts and m.axes[0].offset == 40.0


def test_series_before_the_exit_wave_batch_axes():
    w = _wave(lead=(2,))
    thick = Axis("thickness", 5.0, "Å", 5.0)
    m = hrtem_image(w, Aberrations(C10=C10), method="coherent", batch_axes=[thick])
    assert m.shape == (3, 2) + GRID.gpts
    assert [a.name for a in m.axes] == ["defocus", "thickness", "y", "x"] and m.axes[1] == thick
    one = hrtem_image(w, Aberrations(C10=C10[1]), method="coherent")
    np.testing.assert_allclose(np.asarray(m.array[1]), np.asarray(one.array), atol=1e-12)


def test_zipped_series_of_several_parameters():
    w = _wave()
    c12 = np.array([0.0, 15.0, 30.0])
    fs = np.array([10.0, 20.0, 40.0])
    m = hrtem_image(w, Aberrations(C10=C10, C12=c12, phi12=0.4), focal_spread=fs, method="focal_average", n_focal=6)
    assert m.axes[0] == Axis("series", 1.0, "index")
    assert set(m.metadata["series"]["parameters"]) == {"C10", "C12", "focal_spread"}
    for i in range(3):
        one = hrtem_image(w, Aberrations(C10=C10[i], C12=c12[i], phi12=0.4), focal_spread=fs[i],
                          method="focal_average", n_focal=6)
        np.testing.assert_allclose(np.asarray(m.array[i]), np.asarray(one.array), atol=1e-12)


def test_series_errors_name_the_parameters():
    w = _wave()
    with pytest.raises(validate.InputError, match=r"C10 \(3 values\), focal_spread \(2 values\)"):
        hrtem_image(w, Aberrations(C10=C10), focal_spread=np.array([1.0, 2.0]))
    with pytest.raises(validate.InputError, match=r"C10 \(3 values\), C30 \(2 values\)"):
        ctf(GRID, E, Aberrations(C10=C10, C30=np.array([1e4, 2e4])))
    with pytest.raises(validate.InputError, match="aberration C10 must be a number or a 1-D series"):
        hrtem_image(w, Aberrations(C10=np.zeros((2, 2))))
    with pytest.raises(validate.InputError, match="focal_spread must be ≥ 0"):
        hrtem_image(w, Aberrations(C10=C10), focal_spread=np.array([1.0, -2.0, 3.0]))
    with pytest.raises(validate.InputError, match="aberration C10"):
        hrtem_image(w, Aberrations(C10=np.array([0.0, np.nan])))
    with pytest.raises(validate.InputError, match="aberration C30 must have at least 1"):
        hrtem_image(w, Aberrations(C30=np.zeros(0)))
    with pytest.raises(validate.InputError, match="source_angle: a series needs"):
        hrtem_image(w, source_angle=np.zeros(0))


def test_gradient_of_focal_series_float64():
    w = _wave(seed=3)
    weights = jnp.asarray(np.random.default_rng(1).normal(size=(3,) + GRID.gpts))

    def f(c10):
        img = image_intensity(w, Aberrations(C10=c10, C30=2e4), objective_aperture=20.0, focal_spread=20.0,
                              method="focal_average", n_focal=4)
        return jnp.sum(weights * img)

    check_grads(f, (jnp.asarray(C10),), order=1, modes=["fwd", "rev"], eps=1e-3)


def test_no_recompilation_on_a_repeated_series():
    w = _wave(np.complex64)
    kw = dict(objective_aperture=20.0, focal_spread=25.0, method="focal_average", n_focal=6)
    image_intensity(w, Aberrations(C10=C10), **kw).block_until_ready()
    n = imaging._image._cache_size()
    with jax.log_compiles(True):
        image_intensity(w, Aberrations(C10=C10 + 7.0), **kw).block_until_ready()  # other values, same length
    assert imaging._image._cache_size() == n


def test_ctf_series_stacks_single_ctfs():
    fs = np.array([0.0, 15.0, 30.0])
    h = np.asarray(ctf(GRID, E, Aberrations(C10=C10, C30=1e4), focal_spread=fs, precision="float64"))
    assert h.shape == (3,) + GRID.gpts
    k = np.linspace(0.0, 1.5, 17)
    p = np.asarray(ctf_profile(k, E, Aberrations(C10=C10, C30=1e4), focal_spread=fs, precision="float64"))
    assert p.shape == (3, 17)
    for i in range(3):
        one = ctf(GRID, E, Aberrations(C10=C10[i], C30=1e4), focal_spread=fs[i], precision="float64")
        np.testing.assert_allclose(h[i], np.asarray(one), atol=1e-12)
        # independent: χ = πλk²(½C_sλ²k² − Δf), E_t = exp(−½(πλΔk²)²)
        chi = np.pi * LAM * k**2 * (0.5 * 1e4 * LAM**2 * k**2 + C10[i])
        ref = np.exp(-1j * chi) * np.exp(-0.5 * (np.pi * LAM * fs[i] * k**2) ** 2)
        np.testing.assert_allclose(p[i], ref, atol=1e-12)


def test_series_in_memory_sized_batches_with_a_remainder():
    """A budget for two images: batches of 2 and a remainder of 1 give the same stack."""
    w = _wave()
    per_image = 4 * np.prod(GRID.gpts) * 16  # the working set image_intensity assumes (complex128)
    full = image_intensity(w, Aberrations(C10=C10), method="coherent")
    small = image_intensity(w, Aberrations(C10=C10), method="coherent", memory_budget=int(2 * per_image + 1))
    np.testing.assert_allclose(np.asarray(small), np.asarray(full), atol=1e-13)


def test_focal_series_demo_section_builds(tmp_path):
    from jaxem.cli.gallery import build_gallery

    assert build_gallery(tmp_path, only=["focal_series"], size="small") == []
    assert "HRTEM focal series" in (tmp_path / "index.html").read_text()
    for name in ("images", "ctf"):
        assert (tmp_path / "figures" / f"focal_series_{name}.png").stat().st_size > 1000
    from jaxem.io import load

    m = load(tmp_path / "data" / "focal_series_focal_series.zarr")
    assert m.axes[0] == Axis("defocus", 200.0, "Å", -200.0) and m.shape[0] == 7


def test_a_probe_refuses_a_series_clearly():
    with pytest.raises(validate.InputError, match="aberration C10 is a series \\(3 values\\), but a probe"):
        probe(GRID, E, 20.0, Aberrations(C10=C10))
