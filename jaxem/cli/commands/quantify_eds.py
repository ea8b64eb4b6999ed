"""``jaxem quantify-eds``: quantify an EDS spectrum (image) file by Cliff–Lorimer or ζ-factors.

Reads any rosettasciio EDS file (Bruker .bcf/.spx, .msa, …), extracts net line intensities by a
linear model fit (Gaussian lines + Kramers background), quantifies every pixel and writes the
compositions (and ρt for ζ) with their axes to zarr/HDF5 (atomic write).
"""
from __future__ import annotations


def register(sub):
    from ..args import finite_float, nonnegative_float, positive_float

    p = sub.add_parser("quantify-eds", help="quantify an EDS spectrum/spectrum image (CL or ζ-factor)")
    p.add_argument("path", help="EDS file (.bcf, .spx, .msa, …)")
    p.add_argument("--lines", nargs="+", required=True, help="X-ray lines, e.g. O_Ka Zn_Ka")
    p.add_argument("--method", choices=["cl", "zeta"], default="cl")
    p.add_argument("--factors", nargs="+", type=positive_float, default=None,
                   help="k-factors (cl) or ζ-factors [kg/m²] (zeta); default: theoretical k (cl)")
    p.add_argument("--beam-current-nA", type=positive_float, default=None, help="probe current [nA] (zeta)")
    p.add_argument("--live-time-s", type=positive_float, default=None, help="live time per pixel [s] (zeta)")
    p.add_argument("--take-off-deg", type=finite_float, default=None,
                   help="take-off angle [deg]; default from the file's elevation/azimuth/tilt")
    p.add_argument("--absorption", action="store_true", help="absorption correction (zeta, or cl with --thickness-nm)")
    p.add_argument("--thickness-nm", type=nonnegative_float, default=None,
                   help="thickness for CL absorption correction [nm]")
    p.add_argument("--density", type=positive_float, default=None, help="phase density [g/cm³]")
    p.add_argument("--table", choices=["chantler", "elam"], default="chantler")
    p.add_argument("--out", default="eds_quant.zarr", help="output .zarr or .h5")
    p.set_defaults(func=run)


def run(args):
    import numpy as np

    from ...eds import cliff_lorimer, cross_section, data, geometry, readers, spectrum, zeta
    from ...io import save
    from ...measurement import Axis, Measurement

    from ... import validate
    from ...validate import InputError

    # the options, checked with their command-line names before any file is read
    for opt, units in (("beam_current_nA", "nA"), ("live_time_s", "s"), ("thickness_nm", "nm"),
                       ("density", "g/cm³")):
        if getattr(args, opt) is not None:
            validate.scalar(getattr(args, opt), "--" + opt.replace("_", "-"), units,
                            positive=opt != "thickness_nm", nonnegative=True)
    if args.take_off_deg is not None:
        validate.scalar(args.take_off_deg, "--take-off-deg", "deg", lo=0, hi=90, lo_open=True, hi_open=True)
    if args.factors is not None:
        if len(args.factors) != len(args.lines):
            raise InputError(f"--factors needs one value per line ({len(args.lines)}: {' '.join(args.lines)}), "
                             f"got {len(args.factors)}")
        for f in args.factors:
            validate.scalar(f, "--factors", positive=True)
    d = readers.read_eds(args.path)
    md = d.metadata
    e0 = md.get("beam_energy")
    if e0 is None:
        raise InputError(f"{args.path}: the file has no beam energy; cannot model the background")
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
        k = args.factors if args.factors is not None else list(cross_section.theoretical_k_factors(lines, e0))
        kw = {}
        if args.absorption:
            if args.thickness_nm is None or args.density is None:
                raise InputError("CL absorption correction needs --thickness-nm and --density")
            if toa is None:
                raise InputError("absorption correction needs --take-off-deg (the file has no detector geometry)")
            kw = dict(thickness_nm=args.thickness_nm, density=args.density, mac=mac, take_off_deg=toa)
        r = cliff_lorimer.cliff_lorimer_quantification(inten, k, aw, variance=var, **kw)
    else:
        if args.factors is None:
            raise InputError("--factors (ζ-factors [kg/m²]) are required for --method zeta")
        cur = args.beam_current_nA if args.beam_current_nA is not None else md.get("beam_current")
        lt = args.live_time_s if args.live_time_s is not None else md.get("live_time")
        if cur is None or lt is None:
            raise InputError("ζ-factors need the dose: give --beam-current-nA and --live-time-s")
        if args.absorption and toa is None:
            raise InputError("absorption correction needs --take-off-deg (the file has no detector geometry)")
        kw = dict(mac=mac, take_off_deg=toa) if args.absorption else {}
        r = zeta.zeta_factor(inten, args.factors, zeta.electron_dose(cur, lt), aw, variance=var, **kw)
        arrays["mass_thickness"] = np.asarray(r.mass_thickness)
        if args.density:
            arrays["thickness_nm"] = np.asarray(r.thickness_nm(args.density))
    arrays["atomic_fractions"] = np.moveaxis(np.asarray(r.atomic_fractions), -1, 0)
    arrays["atomic_sigma"] = np.moveaxis(np.asarray(r.atomic_sigma), -1, 0)
    arrays["status"] = np.asarray(r.status)
    from ...eds.composition import STATUS

    bad = np.asarray(r.bad_pixels)
    meta = {"lines": lines, "method": args.method, "take_off_deg": toa, "source": str(args.path),
            "status_bits": STATUS, "n_bad_pixels": int(bad.shape[0]),
            # the status map flags every masked pixel ('bad_input'); the first 1000 are listed here
            "bad_pixels": bad[:1000].tolist()}
    for name, a in arrays.items():
        axes = ((Axis("line"),) if a.ndim == len(d.nav_axes) + 1 else ()) + tuple(d.nav_axes)
        out = args.out.replace(".zarr", f"_{name}.zarr").replace(".h5", f"_{name}.h5")
        save(Measurement(a, axes, {**meta, "quantity": name}), out)
        print(f"wrote {out}")
    x = np.asarray(r.atomic_fractions).reshape(-1, len(lines))
    ok = np.asarray(r.status).reshape(-1) == 0
    if bad.shape[0]:
        print(f"masked {bad.shape[0]} bad pixel(s) (NaN/inf or negative counts; status 'bad_input', listed in "
              f"the metadata), first at {tuple(bad[0])}")
    if not ok.any():
        print("no pixel quantified without a flag (see the status map)")
    for i, l in enumerate(lines):
        if ok.any():
            print(f"{l}: mean {100 * x[ok, i].mean():.2f} at.% over {ok.sum()} pixels")
    return 0
