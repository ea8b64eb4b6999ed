"""Acceptance: TEM-guided vs conventional reconstruction of the synthetic tip with a changing shank
angle and a non-hemispherical, evolving cap."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy.interpolate import PchipInterpolator

from jaxem.apt.maps import interface_position, spacing_along_z
from jaxem.apt.reconstruct import reconstruct_bas
from jaxem.apt.synthetic import generate
from jaxem.apt.tem_guided import (calibrate, calibration_data, calibration_loss, guided_tables,
                                  hermite, pchip_slopes, reconstruct_tem, stitch_runs)
from jaxem.apt.tipshape import tip_profiles


@pytest.fixture(scope="module")
def run():
    return generate()


def test_hermite_matches_scipy_pchip_inside():
    x = np.array([0, 1, 2.5, 4, 7, 8, 10.0])
    y = np.array([0, -1, -1.5, -3, -3.2, -5, -6.0])
    m = pchip_slopes(x, y)
    xq = np.linspace(1, 8, 301)  # intervals not touching the end slopes
    h = jax.jit(hermite)
    ours = np.asarray(h(jnp.asarray(xq), jnp.asarray(x), jnp.asarray(y), jnp.asarray(m)))
    np.testing.assert_allclose(ours, PchipInterpolator(x, y)(xq), atol=1e-12)
    np.testing.assert_allclose(np.asarray(h(jnp.asarray(x), jnp.asarray(x), jnp.asarray(y), jnp.asarray(m))), y)
    assert np.all(np.diff(ours) <= 1e-12)  # monotone data → monotone curve


def test_acceptance_spacing_and_interface(run):
    d0, zi = run.tip.d_spacing, run.tip.interface_z
    x, y, v = jnp.asarray(run.x_det), jnp.asarray(run.y_det), jnp.asarray(run.voltage)
    tem, inside = reconstruct_tem(run.params, x, y, guided_tables(run.profiles))
    tem = np.asarray(tem)
    conv = np.asarray(reconstruct_bas(run.params, x, y, v))
    assert inside.all()
    sol = run.species == 1
    _, d_tem = spacing_along_z(tem, 6)
    _, d_conv = spacing_along_z(conv, 6)
    _, d_true = spacing_along_z(run.truth, 6)
    err_tem, err_conv = np.abs(d_tem / d0 - 1), np.abs(d_conv / d0 - 1)
    zi_tem = interface_position(tem, sol)[0]
    zi_conv = interface_position(conv, sol)[0]
    print(f"\nspacing error TEM-guided max {err_tem.max():.4f}, conventional max {err_conv.max():.4f}; "
          f"interface TEM {zi_tem - zi:+.3f} nm, conventional {zi_conv - zi:+.3f} nm")
    assert np.abs(d_true / d0 - 1).max() < 0.005  # the measurement itself is accurate
    assert err_tem.max() < 0.02
    assert abs(zi_tem - zi) < 0.5
    assert err_conv.max() > 0.05 and abs(zi_conv - zi) > 0.5  # conventional errs visibly
    # positions: TEM-guided within a fraction of a plane spacing of the truth
    assert np.median(np.linalg.norm(tem - run.truth, axis=1)) < 0.05
    assert np.median(np.linalg.norm(conv - run.truth, axis=1)) > 0.3


def test_hemisphere_tem_equals_bas(run):
    # with spherical profiles of the true R and the Bas apex heights, both placements coincide
    x, y, v = jnp.asarray(run.x_det), jnp.asarray(run.y_det), jnp.asarray(run.voltage)
    n = len(run.x_det)
    from jaxem.apt.reconstruct import radius_and_apex

    R, zt = radius_and_apex(run.params, v, n)
    idx = np.linspace(0, n - 1, 400).astype(int)
    prof = tip_profiles(idx + 0.5, np.asarray(zt)[idx], np.asarray(R)[idx], 1e-3)
    tem, _ = reconstruct_tem(run.params, x, y, guided_tables(prof, n_theta=4096, precision="float64"))
    bas = reconstruct_bas(run.params, x, y, v)
    assert float(jnp.max(jnp.abs(tem - bas))) < 0.01


def test_calibration_recovers_kf_xi_eta(run):
    base = run.params.replace(kF=750.0, xi=1.25, eta=0.35)
    res = calibrate(base, run.profiles, run.x_det, run.y_det, run.voltage, run.tip.d_spacing, steps=150,
                    learning_rate=0.03)
    p = res.params
    print(f"\ncalibrated kF {float(p.kF):.2f} (900), xi {float(p.xi):.4f} (1.5), eta {float(p.eta):.4f} (0.5)")
    assert float(p.kF) == pytest.approx(900, rel=0.005)
    assert float(p.xi) == pytest.approx(1.5, rel=0.01)
    assert float(p.eta) == pytest.approx(0.5, rel=0.03)
    assert res.losses[-1] < res.losses[0]


def test_calibration_loss_gradients_float64(run):
    sl = slice(0, int(run.profiles.count[3]))
    prof = tip_profiles(run.profiles.count[:4], run.profiles.apex_z[:4], run.profiles.radius[:4],
                        np.rad2deg(run.profiles.shank_angle[:4]), run.profiles.r, run.profiles.sag[:4])
    tabs = guided_tables(prof, precision="float64")
    data = calibration_data(prof, run.x_det[sl], run.y_det[sl], run.voltage[sl], run.tip.d_spacing,
                            precision="float64")
    base = run.params.replace(kF=jnp.float64(900.0), xi=jnp.float64(1.5), eta=jnp.float64(0.5))
    q = jnp.array([np.log(880.0), np.log(1.48), 0.1])
    data = data.replace(block=250)
    loss = jax.jit(lambda q: calibration_loss(q, base, data, tabs))
    assert np.isfinite(float(loss(q))) and np.all(np.isfinite(np.asarray(jax.grad(loss)(q))))
    check_grads(loss, (q,), order=1, modes=("rev",), eps=1e-5, atol=1e-3, rtol=1e-3)


def test_stitching_two_runs_equals_one(run):
    n_split = 5  # a TEM snapshot taken between the two runs
    cnt = np.asarray(run.profiles.count)
    k = int(cnt[n_split])
    P = run.profiles

    def sub(a, b, off):
        return tip_profiles(cnt[a:b] - off, P.apex_z[a:b], P.radius[a:b], np.rad2deg(P.shank_angle[a:b]),
                            P.r, P.sag[a:b])

    runs = [dict(x_det=run.x_det[:k], y_det=run.y_det[:k], voltage=run.voltage[:k], profiles=sub(0, n_split + 1, 0)),
            dict(x_det=run.x_det[k:], y_det=run.y_det[k:], voltage=run.voltage[k:], profiles=sub(n_split, len(cnt), k))]
    st = stitch_runs(runs)
    assert st["profiles"].count.size == cnt.size and np.all(np.diff(st["profiles"].count) > 0)
    a, _ = reconstruct_tem(run.params, jnp.asarray(st["x_det"]), jnp.asarray(st["y_det"]), guided_tables(st["profiles"]))
    b, _ = reconstruct_tem(run.params, jnp.asarray(run.x_det), jnp.asarray(run.y_det), guided_tables(run.profiles))
    assert float(jnp.max(jnp.abs(a - b))) < 1e-3
    # a reshaped specimen between runs: the first snapshot of run 2 is kept, just after the last of run 1
    runs[1]["profiles"] = runs[1]["profiles"].replace(apex_z=runs[1]["profiles"].apex_z - 1.0)
    st2 = stitch_runs(runs)
    assert st2["profiles"].count.size == cnt.size + 1
    assert st2["profiles"].count[n_split + 1] - st2["profiles"].count[n_split] == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="only 100 ions"):
        calibration_data(P, run.x_det[:100], run.y_det[:100], run.voltage[:100], 0.14)
    with pytest.raises(ValueError, match="exceeds"):
        stitch_runs([dict(x_det=run.x_det[:10], y_det=run.y_det[:10], voltage=run.voltage[:10], profiles=P)])


def test_jit_float32(run):
    f = jax.jit(reconstruct_tem, static_argnames=("projection",))
    pos, _ = f(run.params, jnp.asarray(run.x_det), jnp.asarray(run.y_det), guided_tables(run.profiles))
    assert pos.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(pos)))


def test_scalar_profiles_on_hemispherical_tip_with_changing_shank():
    """Profiles given only as (apex z, R, shank angle) arrays: exact for a hemispherical cap, while the
    shank-angle protocol with a fixed (initial) angle drifts as the real shank angle changes."""
    run = generate(K0=0.0, K1=0.0, depth=8.0, interface_z=-4.0, seed=1)
    P = run.profiles
    scalar = tip_profiles(P.count, P.apex_z, P.radius, np.rad2deg(P.shank_angle))  # no full profile
    x, y = jnp.asarray(run.x_det), jnp.asarray(run.y_det)
    tem = np.asarray(reconstruct_tem(run.params, x, y, guided_tables(scalar))[0])
    shank = np.asarray(reconstruct_bas(run.params, x, y, protocol="shank"))
    d0 = run.tip.d_spacing
    _, d_tem = spacing_along_z(tem, 4)
    _, d_sh = spacing_along_z(shank, 4)
    assert np.abs(d_tem / d0 - 1).max() < 0.02
    assert np.abs(d_sh / d0 - 1).max() > 0.05


def test_pipeline_file_ranges_reconstruction_profile(run, tmp_path):
    """Synthetic run → EPOS + RRNG files → read (memmap) → range → TEM-guided → composition profile."""
    from jaxem.apt import RangeTable, composition_profile, read_epos, read_rrng, write_epos, write_rrng
    from jaxem.apt.isotopes import isotope_pattern

    n = len(run.x_det)
    cols = {k: np.zeros(n, np.float32) for k in ("x", "y", "z", "tof", "v_pulse")}
    cols.update(mass=run.mass, v_dc=run.voltage, x_det=run.x_det, y_det=run.y_det,
                delta_pulse=np.ones(n, np.int32), multiplicity=np.ones(n, np.int32))
    write_epos(tmp_path / "r.epos", cols)
    lines = [(m, {"Fe": 1}) for m in isotope_pattern("Fe", 2)[0]] + [(m, {"Cu": 1}) for m in isotope_pattern("Cu", 1)[0]]
    write_rrng(tmp_path / "r.rrng", RangeTable([m - 0.1 for m, _ in lines], [m + 0.1 for m, _ in lines], [i for _, i in lines]))
    e, table = read_epos(tmp_path / "r.epos"), read_rrng(tmp_path / "r.rrng")
    lab = table.assign(e["mass"])
    assert table.ion_names == ["Fe", "Cu"] and np.mean(lab == run.species) > 0.999
    pos, _ = reconstruct_tem(run.params, np.asarray(e["x_det"], np.float32), np.asarray(e["y_det"], np.float32),
                             guided_tables(run.profiles))
    prof = composition_profile(np.asarray(pos), lab, (0, 0, -14), (0, 0, 1), 14, radius=3.0, bin_width=0.2)
    z_peak = prof["s"][np.argmax(prof["fraction"][:, 1])] - 14
    assert abs(z_peak - run.tip.interface_z) < 0.3
