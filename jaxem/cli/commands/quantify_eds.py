"""``jaxem quantify-eds``: quantify an EDS spectrum (image) file by Cliff–Lorimer or ζ-factors.

Reads any rosettasciio EDS file (Bruker .bcf/.spx, .msa, …), extracts net line intensities by a
linear model fit (Gaussian lines + Kramers background), quantifies every pixel and writes the
compositions (and ρt for ζ) with their axes to zarr/HDF5 (atomic write).
"""
from __future__ import annotations


def register(sub):
    p = sub.add_parser("quantify-eds", help="quantify an EDS spectrum/spectrum image (CL or ζ-factor)")
    p.add_argument("path", help="EDS file (.bcf, .spx, .msa, …)")
    p.add_argument("--lines", nargs="+", required=True, help="X-ray lines, e.g. O_Ka Zn_Ka")
    p.add_argument("--method", choices=["cl", "zeta"], default="cl")
    p.add_argument("--factors", nargs="+", type=float, default=None,
                   help="k-factors (cl) or ζ-factors [kg/m²] (zeta); default: theoretical k (cl)")
    p.add_argument("--beam-current-nA", type=float, default=None, help="probe current [nA] (zeta)")
    p.add_argument("--live-time-s", type=float, default=None, help="live time per pixel [s] (zeta)")
    p.add_argument("--take-off-deg", type=float, default=None,
                   help="take-off angle [deg]; default from the file's elevation/azimuth/tilt")
    p.add_argument("--absorption", action="store_true", help="absorption correction (zeta, or cl with --thickness-nm)")
    p.add_argument("--thickness-nm", type=float, default=None, help="thickness for CL absorption correction [nm]")
    p.add_argument("--density", type=float, default=None, help="phase density [g/cm³]")
    p.add_argument("--table", choices=["chantler", "elam"], default="chantler")
    p.add_argument("--out", default="eds_quant.zarr", help="output .zarr or .h5")
    p.set_defaults(func=run)


def run(args):
    import numpy as np

    from ...eds import cliff_lorimer, cross_section, data, geometry, readers, spectrum, zeta
    from ...io import save
    from ...measurement import Axis, Measurement

    d = readers.read_eds(args.path)
    md = d.metadata
    e0 = md.get("beam_energy")
    if e0 is None:
        raise ValueError("the file has no beam energy; cannot model the background")
    lines = list(args.lines)
    els = [data.parse_line(l)[0] for l in lines]
    aw = data.atomic_weights(els)
    inten, var = spectrum.fit_intensities(np.asarray(d.counts, np.float64), d.energy, lines, e0 * 1e-3,
                                          fwhm_mnka_ev=md.get("fwhm_mnka_ev", 130.0))
    inten, var = np.asarray(inten), np.asarray(var)
    toa = args.take_off_deg
    if toa is None and "elevation_deg" in md:
        toa = float(geometry.take_off_angle_deg(md["elevation_deg"], md.get("azimuth_deg", 0.0),
                                                md.get("tilt_alpha_deg", 0.0), md.get("tilt_beta_deg", 0.0)))
    mac = data.mac_matrix(lines, els, args.table)
    arrays = {}
    if args.method == "cl":
        k = args.factors or list(cross_section.theoretical_k_factors(lines, e0))
        kw = {}
        if args.absorption:
            if args.thickness_nm is None or args.density is None:
                raise ValueError("CL absorption correction needs --thickness-nm and --density")
            kw = dict(mass_thickness=args.density * args.thickness_nm * 1e-7, mac=mac, take_off_deg=toa)
        r = cliff_lorimer.cliff_lorimer_quantification(inten, k, aw, variance=var, **kw)
    else:
        if args.factors is None:
            raise ValueError("--factors (ζ-factors [kg/m²]) are required for --method zeta")
        cur = args.beam_current_nA or md.get("beam_current")
        lt = args.live_time_s or md.get("live_time")
        if cur is None or lt is None:
            raise ValueError("ζ-factors need the dose: give --beam-current-nA and --live-time-s")
        kw = dict(mac=mac, take_off_deg=toa) if args.absorption else {}
        r = zeta.zeta_factor(inten, args.factors, zeta.electron_dose(cur, lt), aw, variance=var, **kw)
        arrays["mass_thickness"] = np.asarray(r.mass_thickness)
        if args.density:
            arrays["thickness_nm"] = np.asarray(r.thickness_nm(args.density))
    arrays["atomic_fractions"] = np.moveaxis(np.asarray(r.atomic_fractions), -1, 0)
    arrays["atomic_sigma"] = np.moveaxis(np.asarray(r.atomic_sigma), -1, 0)
    arrays["status"] = np.asarray(r.status)
    meta = {"lines": lines, "method": args.method, "take_off_deg": toa, "source": str(args.path)}
    for name, a in arrays.items():
        axes = ((Axis("line"),) if a.ndim == len(d.nav_axes) + 1 else ()) + tuple(d.nav_axes)
        out = args.out.replace(".zarr", f"_{name}.zarr").replace(".h5", f"_{name}.h5")
        save(Measurement(a, axes, {**meta, "quantity": name}), out)
        print(f"wrote {out}")
    x = np.asarray(r.atomic_fractions).reshape(-1, len(lines))
    ok = np.asarray(r.status).reshape(-1) == 0
    for i, l in enumerate(lines):
        print(f"{l}: mean {100 * x[ok, i].mean():.2f} at.% over {ok.sum()} pixels")
    return 0
