"""Write and execute notebooks/eels_qe.ipynb. Run: python tools/make_eels_notebook.py [--no-execute]"""
from make_notebooks import write

write("eels_qe.ipynb", [
    r"""md:# Momentum-resolved EELS: plasmon dispersion and the space–time picture

A q–E map records the energy loss E of fast electrons against the momentum transfer q along a slit.
This notebook uses `jaxem.eels` on a synthetic Al map with a known truth (E_p(0) = 15.0 eV, α = 0.40,
Γ = 0.53 eV) to show

1. reading a map with calibrated axes (here from a HyperSpy signal);
2. zero-loss removal, Fourier-log deconvolution and the loss function L(q, E) = Im[−1/ε];
3. Poisson Drude fits at every q (one vmapped fit) and the dispersion E_p(q) = E_p(0) + α(ħ²/m)q²
   with uncertainties, against the published α (0.2 below 0.5 Å⁻¹, 0.45 above; RPA 0.443);
4. the space–time picture χ(x, t): a plasmon wave packet that leaves x = 0 at the group velocity and
   decays in 2ħ/Γ;
5. the coupled surface modes of a 5 nm film;
6. the packet of a noisy, ZLP-broadened map;
7. a TACAW phonon q–E map of Ni analysed by the same code.

Units: q in 1/Å (angular wavenumber, 2π/d), E in eV, x in Å, t in fs.""",
    """import warnings
warnings.filterwarnings("ignore")
import matplotlib.pyplot as plt
import numpy as np

from jaxem import eels""",
    r"""md:## 1. A map with calibrated axes

`eels.drude_map` simulates the counts: the single scattering K(q, E)·L(q, E) with the kinematic factor
K = 1/(q² + q_E²) at 100 kV, a 0.25 eV zero-loss peak, plural scattering and Poisson noise (every q row
exposed to ~2·10⁴ plasmon counts). We hand it over as a HyperSpy signal, as a measured map would come.""",
    """q = np.linspace(0.0, 1.2, 49)
E = np.arange(-4.0, 40.0, 0.05)
m, truth = eels.drude_map(q, E, seed=0, counts_per_peak=2e4, zlp_counts=4e4, zlp_fwhm=0.25, beam="100 kV")
signal = m.to_hyperspy()                       # q navigation axis, E signal axis, beam energy in the metadata
print(signal, signal.axes_manager.navigation_axes[0].units, signal.axes_manager.signal_axes[0].units)
qe = eels.from_hyperspy(signal)                # checked: calibrated, monotonic, uniform; q in 1/Å, E in eV
print(qe.axes, qe.beam())""",
    r"""md:## 2. Pre-processing

The reflected-tail ZLP (the negative-energy side mirrored about the peak), Fourier-log deconvolution
(s = F⁻¹{Z·ln(J/Z)}) and the division by the kinematic factor give the loss function.""",
    """zlp, rest = eels.remove_zlp(qe, "reflected")
single = eels.deconvolve(qe, zlp)
loss = eels.loss_function(single, e_min=0.75)
print("t/λ per q (first rows):", np.round(single.metadata["thickness_over_mfp"][:4], 3))
fig, ax = plt.subplots(1, 2, figsize=(10.5, 3.6), layout="constrained")
im = ax[0].imshow(np.log10(np.maximum(qe.numpy(), 1)).T, origin="lower", aspect="auto", cmap="magma",
                  extent=(q[0], q[-1], E[0], E[-1]))
fig.colorbar(im, ax=ax[0], label="log10 counts"); ax[0].set_xlabel("q [1/Å]"); ax[0].set_ylabel("E [eV]")
L = loss.numpy(); El = loss.axes[-1].values(L.shape[-1])
im = ax[1].imshow(L.T / L.max(), origin="lower", aspect="auto", extent=(q[0], q[-1], El[0], El[-1]), vmin=0, vmax=0.5)
fig.colorbar(im, ax=ax[1], label="Im[−1/ε] (normalised)"); ax[1].set_xlabel("q [1/Å]"); ax[1].set_ylabel("E [eV]");""",
    r"""md:## 3. Dispersion

One Poisson maximum-likelihood fit of a Drude peak (plus a constant) at every q, vectorised with `vmap`;
the standard errors are the Cramér–Rao bounds from the Fisher information. The dispersion law is then a
weighted least-squares fit. The result comes back as a HyperSpy signal with a calibrated q axis.""",
    """fit = eels.fit_peaks(loss.with_array(loss.numpy() * 2e4 / loss.numpy().sum(-1, keepdims=True)), (5.0, 35.0))
c, s = fit.parameter("center")
d = eels.fit_dispersion(q, c[:, 0], s[:, 0])
print(f"E_p(0) = {d.plasmon_energy:.4f} ± {d.plasmon_energy_sigma:.4f} eV,  alpha = {d.alpha:.4f} ± {d.alpha_sigma:.4f}"
      f"  (truth 15.0, 0.40; reduced chi2 {d.chi2_reduced:.2f})")
print(fit.measurement("center").to_hyperspy())
qq = np.linspace(0, 1.2, 100)
fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
ax.errorbar(q, c[:, 0], yerr=s[:, 0], fmt=".", label="fitted E_p(q)")
ax.plot(qq, d.energy(qq), "k", lw=1, label=f"fit α = {d.alpha:.3f}")
for a, ls in ((0.2, ":"), (0.45, "--"), (0.443, "-.")):
    ax.plot(qq, eels.bulk_dispersion(qq, 15.0, a), ls, lw=0.8, label=f"α = {a}")
ax.set_xlabel("q [1/Å]"); ax.set_ylabel("plasmon energy [eV]"); ax.legend(fontsize=7);""",
    r"""md:## 4. Space–time picture

χ(x, t) = 2iθ(t)χ″(x, t) from the antisymmetrised loss function (Hann windows, zero padding). Here the
loss function is the clean one (no instrument broadening), so the envelope decays with the plasmon's own
2ħ/Γ. The resolution limits Δx = 2π/q_max, t_max = 2πħ/δE and Δt = 2πħ/E_range are in the metadata.""",
    """qs, Es = np.arange(0.0, 1.0001, 0.01), np.arange(0.0, 40.0001, 0.1)
_, t0 = eels.drude_map(qs, Es, seed=None)
st = eels.spacetime(eels.qe_map(t0["loss"], (qs, "1/Å"), (Es, "eV")))
pk = eels.track_packet(st)
print({k: round(v["value"], 3) for k, v in st.chi.metadata["resolution"].items()})
print(f"period at x=0 {pk.period:.4f} fs (2πħ/15 eV = {2 * np.pi * eels.HBAR / 15:.4f}); decay {pk.decay_time:.3f} fs "
      f"(2ħ/Γ = {2 * eels.HBAR / 0.53:.3f}); velocity {pk.velocity:.2f} Å/fs (v_g at q = {pk.centre_q:.2f}: "
      f"{eels.group_velocity(pk.centre_q, 0.4):.2f}); Im/Re = {st.chi.metadata['imag_residual']:.1e}")
x, t = st.x[0], st.t
sx, stt = np.abs(x) <= 50, (t >= -1) & (t <= 8)
fig, ax = plt.subplots(1, 2, figsize=(10.5, 3.6), layout="constrained")
chi = st.chi.numpy()[np.ix_(sx, stt)]
im = ax[0].imshow(chi, aspect="auto", cmap="RdBu_r", extent=(t[stt][0], t[stt][-1], x[sx][-1], x[sx][0]),
                  vmin=-abs(chi).max() / 3, vmax=abs(chi).max() / 3)
fig.colorbar(im, ax=ax[0], label="χ(x,t) [arb. units]"); ax[0].set_xlabel("t [fs]"); ax[0].set_ylabel("x [Å]")
im = ax[1].imshow(st.envelope.numpy()[np.ix_(sx, stt)], aspect="auto", cmap="inferno",
                  extent=(t[stt][0], t[stt][-1], x[sx][-1], x[sx][0]))
ax[1].plot(pk.t, pk.centroid, "c", label="envelope centroid"); ax[1].set_xlim(t[stt][0], t[stt][-1]); ax[1].legend()
fig.colorbar(im, ax=ax[1], label="|χ_a(x,t)|"); ax[1].set_xlabel("t [fs]"); ax[1].set_ylabel("x [Å]");""",
    r"""md:The transform is invertible: without windows, transforming χ(x, t) back gives L(q, E) to rounding.""",
    """raw = eels.spacetime(eels.qe_map(t0["loss"], (qs, "1/Å"), (Es, "eV")), window=None)
back = eels.inverse_spacetime(raw)
print("round trip, max relative error:", np.abs(back.numpy() - t0["loss"]).max() / t0["loss"].max())""",
    r"""md:## 5. Thin film: coupled surface modes

For a free-standing film of thickness d the surface plasmons of the two faces couple into
E±(q) = (E_p/√2)·√(1 ± e^{−qd}); two Drude peaks are fitted at every q and (E_p, d) from both branches.""",
    """qf = np.linspace(0.01, 0.06, 21)
mf, tf = eels.film_map(qf, np.arange(0.0, 25.0, 0.05), thickness=50.0, gamma=0.3, seed=1, counts_per_peak=2e4)
ff = eels.fit_peaks(mf, (2.0, 20.0), n_peaks=2)
cs = np.sort(ff.center, 1)
film = eels.fit_film(qf, cs[:, 1], cs[:, 0])
print(f"E_p = {film.plasmon_energy:.3f} eV, d = {film.thickness:.1f} ± {film.thickness_sigma:.1f} Å (truth 15, 50)")
up, lo = film.branches(qf)
fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
ax.plot(qf, cs, "o", ms=3); ax.plot(qf, up, "k", qf, lo, "k", lw=0.8)
ax.set_xlabel("q [1/Å]"); ax.set_ylabel("E [eV]");""",
    r"""md:## 6. Noise and resolution: the packet of a measured map

On a measured map the large-q rows hold few counts (the kinematic factor), and the loss function is
broadened by the zero-loss peak. `eels.analyse` therefore builds the space–time picture from the fitted
Drude loss function (ZLP convolved into the per-q Poisson fits, so Γ is the intrinsic width; E_p(q) from
the dispersion law); `st_source="data"` transforms the measured L instead, with Poisson-σ Wiener weights
and the ZLP's characteristic function divided out. The raw transform of the noisy L misses the packet.""",
    """qb = np.linspace(0.0, 1.3, 64); Eb = -5.0 + 0.04 * np.arange(1024)
mb, _ = eels.drude_map(qb, Eb, seed=0, counts_per_peak=None, row_max=2e5, zlp_counts=5e5, zlp_fwhm=0.25, beam="100 kV")
rb = eels.analyse(mb, e_min=5.0)
for name, st_ in (("fitted loss function", rb.spacetime), ("raw L", eels.spacetime(rb.loss))):
    p = eels.track_packet(st_)
    print(f"{name:22s} v = {p.velocity:6.2f} Å/fs (v_g at q̄ = {rb.dispersion.group_velocity(p.centre_q):.2f}), "
          f"decay {p.decay_time:.2f} fs (2ħ/Γ = {2 * eels.HBAR / 0.53:.2f}), period {p.period:.4f} fs")
print(rb.spacetime.chi.metadata["source"]["gamma"])""",
    r"""md:## 7. Phonons: a TACAW q–E map of Ni through the same code

An exact harmonic trajectory of a 4 × 4 × 1 fcc Ni supercell (LAMMPS EAM force constants via phonopy;
Q(t) = Q₀ cos ωt + Q₁ sin ωt from two thermal draws), its exit waves on q points along [100]
(`jaxem.phonons.frame_waves`), the TACAW spectrum, and then `eels.from_sqw` and `eels.fit_peaks`.""",
    """import jax, jax.numpy as jnp
from jaxem import Grid
from jaxem.phonons import frame_waves, harmonic_displacements, harmonic_phonons, mode_projector, tacaw_spectrum
from jaxem.propagate import plane_wave
from jaxem.structure import Structure
a = 3.524
unit = Structure.create([[0, 0, 0], [a/2, a/2, 0], [a/2, 0, a/2], [0, a/2, a/2]], ["Ni"] * 4, [a, a, a])
h = harmonic_phonons(unit, (4, 4, 1), potential="Ni")
proj = mode_projector(h)
u = harmonic_displacements(jax.random.key(0), proj, 300.0, 2, quantum=False)
Q0, Q1 = proj.project(u[0]), proj.project(u[1])
t = jnp.arange(120) * 10.0                                         # fs
traj = jax.vmap(lambda tt: proj.displacements(Q0 * jnp.cos(proj.omega * tt) + Q1 * jnp.sin(proj.omega * tt)).real)(t)
L = np.asarray(h.supercell.lengths); qn = np.arange(1, 8) / L[0]   # 1/d along [100]
fw = frame_waves(h.supercell, plane_wave(Grid.from_extent((L[1], L[0]), sampling=0.2), 300e3),
                 np.asarray(proj.positions)[None] + np.asarray(traj), time_step=10.0, slice_thickness=a / 2,
                 q_region=[[0.0, float(k)] for k in qn])
sqw = eels.from_sqw(tacaw_spectrum(fw), q=(qn, "1/Å"), q_convention="spatial")
En = sqw.axes[-1].values(sqw.shape[-1])
fn = eels.fit_peaks(sqw.with_array(sqw.numpy() / sqw.numpy().max() * 1e4), (0.004, En[-1]), kind="lorentz", background="none")
frac = (a / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]) @ np.stack([qn, 0 * qn, 0 * qn])).T
la = np.sort(np.asarray(h.frequencies(frac)), -1)[:, 2] * 4.135667696          # THz → meV
fig, ax = plt.subplots(1, 2, figsize=(10.5, 3.6), layout="constrained")
im = ax[0].imshow(np.log10(sqw.numpy() / sqw.numpy().max() + 1e-6).T, origin="lower", aspect="auto", cmap="magma",
                  extent=(qn[0], qn[-1], 0, En[-1] * 1e3))
fig.colorbar(im, ax=ax[0], label="log10 S(q,E)"); ax[0].set_ylim(0, 45)
ax[0].set_xlabel("q [1/Å] (1/d)"); ax[0].set_ylabel("E [meV]")
ax[1].plot(qn, fn.center[:, 0] * 1e3, "o", label="fit_peaks"); ax[1].plot(qn, la, "k-", label="phonopy LA")
ax[1].set_xlabel("q [1/Å] (1/d)"); ax[1].set_ylabel("E [meV]"); ax[1].legend();""",
])
