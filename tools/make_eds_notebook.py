"""Write and execute notebooks/eds_wedge.ipynb. Run: python tools/make_eds_notebook.py [--no-execute]"""
from make_notebooks import write

write("eds_wedge.ipynb", [
    r"""md:# Quantitative STEM-EDS: Cliff–Lorimer vs ζ-factor, on a synthetic wedge and a real Bruker file

Part 1 is a synthetic wedge-shaped ZnO lamella (Zn:O = 50:50 at.%), 0–300 nm thick, 200 kV, take-off
angle 22°: counts from the ζ-factor equation with thin-film absorption and Poisson noise. Each pixel is
quantified with standard-based and standardless Cliff–Lorimer and with the ζ-factor method (iterative
absorption correction); then the sensitivity to the take-off angle and to the mass-attenuation table.

Part 2 reads a real Bruker ESPRIT spectrum image (`.bcf`, 64×64 pixels × 2048 channels, 200 kV) from the
vendor samples, quantifies it by Cliff–Lorimer with theoretical k-factors and hands it to HyperSpy/exspy.
Units: energies keV (X-ray lines) and eV (beam), thickness nm, mass thickness g/cm², angles in degrees
where the name ends in `_deg`.""",
    """import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from jaxem import eds
from jaxem.eds import cross_section, data, geometry
from jaxem.eds.wedge import zno_wedge

# the real vendor samples: $JAXEM_VENDOR_DATA, else <repository>/../shared/data/vendor (cwd is notebooks/)
VENDOR = Path(os.environ.get("JAXEM_VENDOR_DATA", Path.cwd().parent.parent / "shared" / "data" / "vendor"))""",
    r"""md:## Ingredients: geometry, μ/ρ, k-factors

The take-off angle follows from the detector elevation and azimuth and the specimen tilt. The mass
attenuation coefficients μ/ρ of ZnO for the O Kα and Zn Kα lines show why O is absorbed strongly
(its soft 0.52 keV X-rays) while Zn Kα is not; theoretical k-factors come from ionisation cross-sections,
fluorescence yields and line weights.""",
    """toa = geometry.take_off_angle_deg(elevation_deg=18.0, azimuth_deg=0.0, tilt_alpha_deg=4.0)
lines, els = ["O_Ka", "Zn_Ka"], ["O", "Zn"]
w = data.formula_weight_fractions("ZnO", els)
mac = data.mac_matrix(lines, els)
print(f"take-off angle {toa:.1f} deg")
print("μ/ρ of ZnO at O Kα, Zn Kα [cm²/g]:", np.asarray(data.mac_mixture(w, mac)).round(1))
print("theoretical k (O/Zn, weight basis):", cross_section.theoretical_k_factors(lines, 200e3, reference=1).round(3))
print(data.provenance()["mass_attenuation"]["tables"]["chantler"])""",
    r"""md:## Part 1: the wedge, quantified four ways

Cliff–Lorimer without absorption correction underestimates O more and more with thickness (O Kα is
absorbed on its way out); with the absorption correction at the true thickness it is right, but CL cannot
measure the thickness. The ζ-factor method measures the mass thickness ρt from the same counts and
corrects itself. The t = 0 pixel has no counts: it is flagged "no signal", not NaN.""",
    """res = zno_wedge(seed=0, n_points=61)
t, ok = res["thickness_nm"], res["status"] == 0
fig, ax = plt.subplots(1, 2, figsize=(10.5, 3.8), layout="constrained")
for m, o in res["o_at"].items():
    ax[0].plot(t[ok], o[ok], label=m)
ax[0].axhline(50, color="k", lw=0.6)
ax[0].set(xlabel="thickness [nm]", ylabel="O [at.%]", title="apparent O content (true 50 at.%)")
ax[0].legend(fontsize=7)
ax[1].plot(t[ok], res["thickness_zeta_nm"][ok], ".", label="ζ-factor"); ax[1].plot(t, t, "k-", lw=0.6, label="true")
ax[1].set(xlabel="true thickness [nm]", ylabel="thickness from ρt/ρ [nm]", title="ζ-factor thickness"); ax[1].legend()
i200 = np.argmin(abs(t - 200))
print({m: round(float(o[i200]), 2) for m, o in res["o_at"].items()}, "O at.% at 200 nm")
print("status of the t = 0 pixel:", res["status"][0], "(1 = no signal)")""",
    r"""md:## Sensitivity to the assumed take-off angle and to the μ/ρ table

Noise-free wedges quantified by ζ + absorption correction with a wrong take-off angle (true 22°), and with
data made with one attenuation table (Chantler or Elam) and analysed with another. A 2° error in the
take-off angle moves O by 1–1.5 at.% at 300 nm; the choice of table by about 1 at.%.""",
    """fig, ax = plt.subplots(1, 2, figsize=(10.5, 3.6), layout="constrained")
for a in (18, 20, 22, 24, 26):
    r = zno_wedge(n_points=61, toa=a, noise=False)
    ax[0].plot(r["thickness_nm"][1:], r["o_at"]["zeta + AC"][1:], label=f"{a}°")
ax[0].legend(fontsize=7, title="assumed TOA")
ax[0].set(xlabel="thickness [nm]", ylabel="O [at.%] (ζ + AC)", title="assumed take-off angle (true 22°)")
for tt, ta in (("chantler", "chantler"), ("elam", "chantler")):
    r = zno_wedge(n_points=61, table_true=tt, table=ta, noise=False)
    ax[1].plot(r["thickness_nm"][1:], r["o_at"]["zeta + AC"][1:], label=f"data {tt} / analysis {ta}")
ax[1].legend(fontsize=7); ax[1].set(xlabel="thickness [nm]", ylabel="O [at.%] (ζ + AC)", title="μ/ρ table");""",
    r"""md:## Part 2: a real Bruker spectrum image

`eds.read_eds` reads the `.bcf` through rosettasciio after checking it against its header (a truncated
file is an error naming the file, never a zero-filled cube) and returns an `EDSData`: counts (…nav,
channels), the energy axis [keV], calibrated navigation axes and the acquisition parameters in jaxem
units. The sum spectrum, on a log scale, with the lines the file lists: O Kα and Ti Kα (with Ti Kβ
beside it) stand out, Cu Kα and Pd Lα show no visible peak, and the strong peak at 1.74 keV is Si Kα,
which the file does not list among its elements.""",
    """bcf = VENDOR / "bruker" / "test_TEM.bcf"
HAVE_BCF = bcf.is_file()
if not HAVE_BCF:
    print(f"vendor sample {bcf} is not here: Part 2 is skipped (set JAXEM_VENDOR_DATA to the vendor folder)")
else:
    d = eds.read_eds(bcf)
    lines = list(d.metadata["xray_lines"])
    print("counts", d.counts.shape, d.counts.dtype, "| energy", f"{d.energy[0]:.3f}…{d.energy[-1]:.3f} keV")
    print("navigation axes:", [f"{a.name}: {a.sampling * 1e3:.3f} nm/pixel" if a.units == "µm" else a for a in d.nav_axes])
    print({k: d.metadata[k] for k in ("beam_energy", "elevation_deg", "azimuth_deg", "elements", "xray_lines")})
    total = d.counts.reshape(-1, d.counts.shape[-1]).sum(0)
    fig, ax = plt.subplots(figsize=(8, 3.4), layout="constrained")
    ax.semilogy(d.energy, np.maximum(total, 0.5), lw=0.8)
    for line in lines:
        e_line = data.line_energy(line)
        ax.axvline(e_line, color="C3", lw=0.6, ls=":"); ax.text(e_line, total.max(), line, rotation=90, va="top", fontsize=8)
    ax.set_xlim(0, 12); ax.set_ylim(0.5, None)
    ax.set_xlabel("X-ray energy [keV]"); ax.set_ylabel("counts per channel (sum of all pixels)")""",
    r"""md:### Cliff–Lorimer on the sum spectrum and on a binned map

Net line intensities by background windows on each side of the line, theoretical k-factors at the file's
200 kV, and the Cliff–Lorimer ratio equation without absorption correction (thin film). The map has only a
few counts per pixel, so pixels are summed 8 × 8 before quantifying O and Ti. Pixels whose status is not
OK (e.g. a negative net intensity) are masked in the map and listed by the status flags, never NaN.
Look for O : Ti ≈ 2 : 1 (TiO2 would be 66.7 : 33.3 at.%); Cu and Pd, with no peak, come out at a few
tenths of a per cent from the background windows. The map scatters by the Poisson noise of a few
hundred counts per bin.""",
    """if HAVE_BCF:
    els = [l.split("_")[0] for l in lines]
    k = np.asarray(eds.theoretical_k_factors(lines, d.metadata["beam_energy"], reference=0))
    aw = np.asarray(eds.atomic_weights(els))
    I, var = eds.window_intensities(total.astype(np.float32), d.energy, lines)
    r = eds.cliff_lorimer_quantification(np.asarray(I)[None], k, aw, variance=np.asarray(var)[None])
    for line, c, s, net in zip(lines, np.asarray(r.atomic_fractions)[0], np.asarray(r.atomic_sigma)[0], np.asarray(I)):
        print(f"{line:6s} net {net:8.1f} counts   {100 * c:6.2f} ± {100 * s:.2f} at.%")
    # map: O and Ti, 8 × 8 pixels summed
    sub = [lines.index("O_Ka"), lines.index("Ti_Ka")]
    ny, nx, nc = d.counts.shape
    binned = d.counts.reshape(ny // 8, 8, nx // 8, 8, nc).sum((1, 3)).astype(np.float32)
    Ib, vb = eds.window_intensities(binned, d.energy, [lines[i] for i in sub])
    rb = eds.cliff_lorimer_quantification(np.asarray(Ib), k[sub], aw[sub], variance=np.asarray(vb))
    status = np.asarray(rb.status)
    o_map = np.where(status == eds.OK, 100 * np.asarray(rb.atomic_fractions)[..., 0], np.nan)
    print("status counts:", {name: int(np.sum(status == v)) for name, v in eds.STATUS.items()},
          "| O/(O+Ti) over OK pixels:", f"{np.nanmean(o_map):.1f} at.%")
    step = 8 * d.nav_axes[0].sampling * 1e3                                        # [nm]
    fig, ax = plt.subplots(1, 2, figsize=(9.5, 3.8), layout="constrained")
    im = ax[0].imshow(binned.sum(-1), cmap="gray", extent=(0, nx // 8 * step, ny // 8 * step, 0))
    fig.colorbar(im, ax=ax[0], label="X-ray counts per 8×8 bin"); ax[0].set_title("total counts")
    im = ax[1].imshow(o_map, cmap="viridis", extent=(0, nx // 8 * step, ny // 8 * step, 0))
    fig.colorbar(im, ax=ax[1], label="O / (O + Ti) [at.%]"); ax[1].set_title("Cliff–Lorimer (non-OK bins blank)")
    for a in ax:
        a.set_xlabel("x [nm]"); a.set_ylabel("y [nm]")""",
    r"""md:### To HyperSpy / exspy

`eds.to_hyperspy` gives an exspy `EDSTEMSpectrum` with the navigation calibration, the beam energy,
the detector angles and the elements, so the same data continue in the HyperSpy ecosystem.""",
    """if HAVE_BCF:
    s = eds.to_hyperspy(d)
    print(s)
    print(s.axes_manager)
    print(s.metadata)""",
])
