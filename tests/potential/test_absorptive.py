"""Complex absorptive slices (jaxem.potential.absorptive)."""
from .wk_reference import *  # noqa: F401,F403  (imports and the W–K closed-form reference)


# ---------------------------------------------------------------------------------------------


def srtio3(nx=1, ny=1, nz=1, B=True):
    a = 3.905
    kw = {"B": {"Sr": 0.62, "Ti": 0.41, "O": 0.72}} if B else {}
    s = Structure.create([[0, 0, 0], [a / 2, a / 2, a / 2], [a / 2, a / 2, 0], [a / 2, 0, a / 2], [0, a / 2, a / 2]],
                         ["Sr", "Ti", "O", "O", "O"], [a, a, a], **kw)
    return s.repeat(nx, ny, nz)


def test_real_part_is_dw_potential_and_mean_absorption_is_optical_theorem():
    cell = srtio3(2, 2, 1)
    p = absorptive_potential(cell, 300e3, sampling=0.1, slice_thickness=3.905 / 2, precision="float64")
    real = potential(cell, sampling=0.1, slice_thickness=3.905 / 2, debye_waller=True, precision="float64")
    assert p.array.dtype == jnp.complex128 and p.energy == 300e3
    assert np.array_equal(np.asarray(p.array.real), np.asarray(real.array))
    sigma = physics.interaction_constant(300e3)
    mu_slices = 2 * sigma * float(jnp.mean(p.full().imag.sum(0))) / p.thickness
    assert mu_slices == pytest.approx(mean_absorption_coefficient(cell, 300e3), rel=1e-9)
    # v′ is positive up to small ringing from f′ < 0 at large g and the finite grid
    assert float(jnp.min(p.array.imag)) > -2e-3 * float(jnp.max(p.array.imag))


@pytest.mark.parametrize("slice_thickness", [3.905, 3.905 / 2])
def test_wave_norm_decays_at_mean_absorption_rate(slice_thickness):
    """Thin crystal: N(z) = exp(−μz) to first order in σv′, μ = Σσ_TDS/V_cell = 2σ⟨v′⟩/Δz.

    One SrTiO3 cell: the measured rate −ln(N_abs/N_elastic)/z is within 3% of μ (measured −2.2% with
    one slice, −1.6% with two: the second-order Jensen term ⟨e^{−2σv′}⟩ > e^{−2σ⟨v′⟩} lowers it,
    channelling onto the columns raises it). In the first-order limit (v′ scaled by 1/50) a single
    slice, where the plane wave is still uniform, gives μ within 0.1%.
    """
    energy = 300e3
    cell = srtio3(2, 2, 1)
    p = absorptive_potential(cell, energy, sampling=0.1, slice_thickness=slice_thickness, precision="float64")
    mu = mean_absorption_coefficient(cell, energy)
    w0 = plane_wave(p.grid, energy, precision="float64")

    def norm(pot):
        return float(jnp.sum(jnp.abs(multislice(w0, pot).array) ** 2)) / w0.norm

    elastic = norm(p.replace(array=p.array.real.astype(p.array.dtype)))
    rate = -math.log(norm(p) / elastic) / p.thickness
    assert rate == pytest.approx(mu, rel=0.03)
    if p.n_slices == 1:
        weak = p.replace(array=p.array.real + 1j * p.array.imag / 50)
        rate_weak = -math.log(norm(weak) / elastic) / p.thickness * 50
        assert rate_weak == pytest.approx(mu, rel=1e-3)


def test_without_absorption_complex_path_equals_real_path_exactly():
    cell = srtio3(2, 2, 3)
    kw = dict(sampling=0.2, slice_thickness=3.905 / 2)
    comp = absorptive_potential(cell, 200e3, model="fraction", fraction=0.0, debye_waller=True, **kw)
    real = potential(cell, debye_waller=True, **kw)
    assert float(jnp.max(jnp.abs(comp.array.imag))) == 0.0
    w = plane_wave(real.grid, 200e3)
    a, b = multislice(w, comp).array, multislice(w, real).array
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_fraction_and_aperture_models():
    cell = srtio3(2, 2, 1)
    kw = dict(sampling=0.1, slice_thickness=3.905 / 2, precision="float64")
    default = absorptive_potential(cell, 300e3, model="fraction", sampling=0.2, slice_thickness=3.905)
    assert default.array.dtype == jnp.complex64
    frac = absorptive_potential(cell, 300e3, model="fraction", fraction=0.08, **kw)
    assert np.allclose(frac.array.imag, 0.08 * frac.array.real, rtol=1e-12)
    ap = absorptive_potential(cell, 300e3, model="aperture", **kw)
    g = ap.grid
    f0 = [aperture_absorptive_form_factor(z, 300e3, np.zeros(1), g.antialias_cutoff, g.antialias_taper)[0]
          for z in ("Sr", "Ti", "O")]
    want = physics.KAPPA * (f0[0] + f0[1] + 3 * f0[2]) * 4 / g.area  # 2×2 cells
    assert float(jnp.mean(ap.full().imag.sum(0))) == pytest.approx(want, rel=1e-6)
    narrow = absorptive_potential(cell, 300e3, model="aperture", cutoff=2.0, **kw)  # hard edge at 2 Å⁻¹
    f0n = aperture_absorptive_form_factor("Sr", 300e3, np.zeros(1), 2.0)[0]
    assert f0n > 2 * f0[0] and float(jnp.mean(narrow.array.imag)) > 2 * float(jnp.mean(ap.array.imag))


def test_bad_input():
    with pytest.raises(ValueError, match=r"B must be > 0 \[Å²\], got 0.0"):
        absorptive_form_factor("Si", 0.0, 200e3, np.zeros(1))
    with pytest.raises(ValueError, match=r"B must be > 0 \[Å²\], got -0.3"):
        absorptive_form_factor("Si", -0.3, 200e3, np.zeros(1))
    with pytest.raises(ValueError, match="energy"):
        absorptive_form_factor("Si", 0.4, -1.0, np.zeros(1))
    with pytest.raises(ValueError, match="geometry"):
        absorptive_form_factor("Si", 0.4, 200e3, np.zeros(1), geometry="cone")
    with pytest.raises(TypeError, match="parametrization"):
        absorptive_form_factor("Si", 0.4, 200e3, np.zeros(1), parametrization=3)
    with pytest.raises(ValueError, match=r"missing \(B ≤ 0\) for species \['O', 'Sr', 'Ti'\]"):
        absorptive_potential(srtio3(B=False), 300e3, sampling=0.2)
    partial_b = Structure.create([[0, 0, 0], [1, 1, 1]], ["Sr", "O"], [3, 3, 3], B=[0.6, 0.0])
    with pytest.raises(ValueError, match=r"species \['O'\]"):
        absorptive_potential(partial_b, 300e3, sampling=0.2)
    with pytest.raises(ValueError, match="debye_waller=False"):
        absorptive_potential(srtio3(), 300e3, sampling=0.2, debye_waller=False)
    with pytest.raises(ValueError, match="model"):
        absorptive_potential(srtio3(), 300e3, sampling=0.2, model="mustem")
    with pytest.raises(ValueError, match="fraction"):
        absorptive_potential(srtio3(), 300e3, sampling=0.2, model="fraction", fraction=-0.1)
    p = absorptive_potential(srtio3(), 300e3, sampling=0.1, model="fraction")
    with pytest.raises(ValueError, match="300000.0 eV"):
        multislice(plane_wave(p.grid, 200e3), p)


def test_gradients_through_absorptive_slices():
    cell = Structure.create([[1.1, 1.4, 0.5], [2.6, 2.2, 1.5]], ["Sr", "O"], [4.0, 4.0, 2.0], B=[0.6, 0.7])
    build = absorptive_potential_builder(cell, 200e3, gpts=(16, 16), slice_thickness=1.0, precision="float64")
    w0 = plane_wave(build(cell).grid, 200e3, precision="float64")
    weights = jnp.asarray(np.random.default_rng(0).random((16, 16)))

    @jax.jit
    def loss(pos):
        pot = build(cell.with_positions(pos))
        psi = multislice(w0, pot).array
        return jnp.sum(weights * jnp.abs(jnp.fft.fft2(psi)) ** 2) / 16**4

    pos = jnp.asarray(cell.positions, jnp.float64)
    assert float(jnp.linalg.norm(jax.grad(loss)(pos))) > 0
    check_grads(loss, (pos,), order=1, modes=("rev",), atol=1e-6, rtol=1e-4)


def test_the_beam_carries_the_energy():
    from jaxem.beam import Beam
    from jaxem.potential.projected import PotentialSlices

    cell = srtio3()
    kw = dict(sampling=0.2, slice_thickness=3.905 / 2, model="fraction")
    ref = absorptive_potential(cell, 300e3, **kw)
    for beam in (Beam(300e3), Beam("300 kV", tilt=(1.0, 0.0)), "300 kV"):
        p = absorptive_potential(cell, beam, **kw)
        assert p.energy == 300e3 and np.array_equal(np.asarray(p.array), np.asarray(ref.array))
    assert mean_absorption_coefficient(cell, Beam(300e3)) == mean_absorption_coefficient(cell, "300 kV")
    assert tds_cross_section("Si", 0.4, Beam(200e3)) == tds_cross_section("Si", 0.4, 200e3)
    with pytest.raises(ValueError, match=r"energy must be > 0 \[eV\], got -1"):
        absorptive_potential(cell, -1.0, **kw)
    with pytest.raises(ValueError, match="energy .* could not parse 'lots'"):
        absorptive_potential(cell, "lots", **kw)
    with pytest.raises(TypeError, match="beam must be a jaxem Beam or an energy"):
        absorptive_potential(cell, None, **kw)
    # PotentialSlices.energy is validated through the Beam
    assert PotentialSlices(ref.array, ref.sequence, ref.slice_thickness, ref.grid, "300 kV").energy == 300e3
    with pytest.raises(ValueError, match=r"energy must be > 0 \[eV\]"):
        PotentialSlices(ref.array, ref.sequence, ref.slice_thickness, ref.grid, -5.0)
    with pytest.raises(ValueError, match=r"slice_thickness must be > 0"):
        PotentialSlices(ref.array, ref.sequence, 0.0, ref.grid)
    with pytest.raises(ValueError, match=r"array must have shape \(n_unique, 20, 20\)"):
        PotentialSlices(ref.array[:, :5], ref.sequence, ref.slice_thickness, ref.grid)
    with pytest.raises(ValueError, match=r"sequence refers to slice 7 but array holds 2 slices"):
        PotentialSlices(ref.array, (0, 7), ref.slice_thickness, ref.grid)


def test_absorptive_arguments_name_themselves():
    cell = srtio3()
    kw = dict(sampling=0.2)
    with pytest.raises(ValueError, match=r"model must be one of .* \(did you mean 'hall_hirsch'\?\)"):
        absorptive_potential(cell, 300e3, model="hall-hirsh", **kw)
    with pytest.raises(ValueError, match=r"geometry must be one of 'sphere', 'plane', got 'cone'"):
        absorptive_potential(cell, 300e3, geometry="cone", **kw)
    with pytest.raises(ValueError, match=r"cutoff must be > 0 \[1/Å\]"):
        absorptive_potential(cell, 300e3, model="aperture", cutoff=-1.0, **kw)
    with pytest.raises(ValueError, match=r"detector must be \(inner, outer\) with 0 ≤ inner < outer"):
        absorptive_potential(cell, 300e3, detector=(80.0, 40.0), **kw)
    with pytest.raises(ValueError, match=r"detector applies to model='hall_hirsch' only"):
        absorptive_potential(cell, 300e3, model="fraction", detector=(40.0, 80.0), **kw)
    with pytest.raises(ValueError, match=r"g must be ≥ 0 \[1/Å\]"):
        absorptive_form_factor("Si", 0.4, 200e3, np.array([-1.0]))
    with pytest.raises(ValueError, match=r"g holds 1 NaN/inf"):
        absorptive_form_factor("Si", 0.4, 200e3, np.array([np.nan]))
    with pytest.raises(ValueError, match=r"taper must be in \[0, 2\)"):
        aperture_absorptive_form_factor("Si", 200e3, np.zeros(1), 2.0, taper=3.0)
    with pytest.raises(ValueError, match=r"quadrature must be three node counts"):
        absorptive_form_factor("Si", 0.4, 200e3, np.zeros(1), quadrature=(8, 8))


def test_g_batches_come_from_the_memory_budget_and_do_not_change_f_prime():
    g = np.linspace(0, 3, 7)
    one = absorptive_form_factor("Ti", 0.44, 300e3, g, memory_budget=1)  # one g per batch
    many = absorptive_form_factor("Ti", 0.44, 300e3, g, memory_budget="1G")
    np.testing.assert_array_equal(one, many)
