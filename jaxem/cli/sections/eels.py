"""Demo: momentum-resolved EELS of Al — q–E map, plasmon dispersion, thin-film modes, space–time picture."""
from __future__ import annotations

import numpy as np

TITLE = "q–E EELS: Al plasmon dispersion, the space–time picture of a plasmon wave packet, a Ni phonon map"
ORDER = 85


def run(ctx):
    import matplotlib.pyplot as plt

    from jaxem import eels

    nq = 61 if ctx.small else 151
    q = np.linspace(0.0, 1.5, nq)
    E = np.arange(-4.0, 40.0, 0.05)
    # every q row exposed to ~2·10⁴ plasmon counts (longer exposure at large q, as in a real series)
    m, truth = eels.drude_map(q, E, seed=0, counts_per_peak=2e4, zlp_counts=4e4, zlp_fwhm=0.25,
                              beam="100 kV", cutoff=1.15, gamma_rise=2.0)
    r = eels.analyse(m)
    d = r.dispersion
    ctx.text(f"Synthetic Al q–E map ({nq} q × {E.size} E, 100 kV, Poisson noise, ZLP 0.25 eV FWHM, plural scattering "
             f"t/λ ≈ {np.mean(r.single.metadata['thickness_over_mfp']):.2f}; truth E_p(0) = 15.0 eV, α = 0.40, Γ = 0.53 eV, "
             f"Landau damping above 1.15 1/Å). Processed by <code>jaxem.eels.analyse</code>: reflected-tail ZLP "
             f"removal, Fourier-log deconvolution, division by 1/(q² + q_E²), Poisson Drude fits at every q (vmapped), "
             f"dispersion fit below the detected width onset, space–time transform.")
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
    im = ax[0].imshow(np.log10(np.maximum(m.numpy(), 1)).T, origin="lower", aspect="auto", cmap="magma",
                      extent=(q[0], q[-1], E[0], E[-1]))
    ax[0].set_xlabel("q [1/Å]")
    ax[0].set_ylabel("energy loss E [eV]")
    fig.colorbar(im, ax=ax[0], label="log10 counts")
    ax[0].set_title("measured map (with ZLP)")
    L = r.loss.numpy()
    El = r.loss.axes[-1].values(L.shape[-1])
    im = ax[1].imshow(L.T / L.max(), origin="lower", aspect="auto", cmap="viridis", extent=(q[0], q[-1], El[0], El[-1]),
                      vmin=0.0, vmax=0.5)
    ax[1].set_xlabel("q [1/Å]")
    ax[1].set_ylabel("E [eV]")
    fig.colorbar(im, ax=ax[1], label="L(q,E) = Im[−1/ε] (norm.)")
    ax[1].set_title("loss function")
    c, s = r.fit.parameter("center")
    ok = r.fit.status == 0
    ax[2].errorbar(q[ok], c[ok, 0], yerr=s[ok, 0], fmt=".", ms=3, label="fitted E_p(q) ± σ (Poisson)")
    qq = np.linspace(0, 1.5, 100)
    ax[2].plot(qq, d.energy(qq), "k-", lw=1, label=f"fit: α = {d.alpha:.3f} ± {d.alpha_sigma:.3f}")
    for a, ls, lab in ((0.2, ":", "α = 0.2 (exp., q < 0.5)"), (0.45, "--", "α = 0.45 (exp., q > 0.5)"),
                       (0.443, "-.", "RPA α = 0.443")):
        ax[2].plot(qq, eels.bulk_dispersion(qq, 15.0, a), ls, lw=0.8, label=lab)
    kF = 1.749
    ax[2].plot(qq, eels.continuum_edge(qq, kF), color="gray", lw=0.8, label="e–h continuum edge (k_F = 1.749)")
    if r.onset:
        ax[2].axvline(r.onset["q_c"], color="r", lw=0.8, label=f"width onset q_c = {r.onset['q_c']:.2f} 1/Å")
    ax[2].set_ylim(14, 26)
    ax[2].set_xlabel("q [1/Å]")
    ax[2].set_ylabel("plasmon energy [eV]")
    ax[2].legend(fontsize=6)
    ctx.figure("dispersion", fig, "Al q–E map, loss function and the fitted dispersion against the published α")
    ctx.table(["quantity", "fitted", "truth / literature"],
              [["E_p(0) [eV]", f"{d.plasmon_energy:.4f} ± {d.plasmon_energy_sigma:.4f}", "15.0"],
               ["α", f"{d.alpha:.4f} ± {d.alpha_sigma:.4f}", "0.40 (synthetic); 0.2 / 0.45 measured; RPA 0.443"],
               ["q_c [1/Å] (width onset)", f"{r.onset['q_c']:.3f}" if r.onset else "–",
                f"1.15 (synthetic); continuum crossing {eels.continuum_cutoff(15.0, 0.4, kF):.2f}; 1.3 measured"]],
              caption="Dispersion fit (uncertainties from the Poisson Fisher information)")

    # space–time picture from the clean loss function (no instrument broadening)
    qs = np.arange(0.0, 1.0001, 0.01)
    Es = np.arange(0.0, 40.0001, 0.1)
    _, tr0 = eels.drude_map(qs, Es, seed=None)
    st = eels.spacetime(eels.qe_map(tr0["loss"], (qs, "1/Å"), (Es, "eV")))
    pk = eels.track_packet(st)
    x, t = st.x[0], st.t
    sx, stt = np.abs(x) <= 60, (t >= -1) & (t <= 8)
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
    chi = st.chi.numpy()[np.ix_(sx, stt)]
    im = ax[0].imshow(chi, aspect="auto", cmap="RdBu_r", extent=(t[stt][0], t[stt][-1], x[sx][-1], x[sx][0]),
                      vmin=-np.abs(chi).max() / 3, vmax=np.abs(chi).max() / 3)
    ax[0].set_xlabel("t [fs]")
    ax[0].set_ylabel("x [Å]")
    fig.colorbar(im, ax=ax[0], label="χ(x,t) [arb. units]")
    ax[0].set_title("causal response χ(x,t)")
    env = st.envelope.numpy()[np.ix_(sx, stt)]
    im = ax[1].imshow(env, aspect="auto", cmap="inferno", extent=(t[stt][0], t[stt][-1], x[sx][-1], x[sx][0]))
    ax[1].plot(pk.t, pk.centroid, "c-", lw=1, label=f"centroid: v = {pk.velocity:.2f} Å/fs")
    ax[1].set_xlim(t[stt][0], t[stt][-1])
    ax[1].set_xlabel("t [fs]")
    ax[1].set_ylabel("x [Å]")
    ax[1].legend(fontsize=7)
    fig.colorbar(im, ax=ax[1], label="|χ_a(x,t)| envelope")
    i0 = int(np.argmin(np.abs(x)))
    tt = (t >= 0) & (t <= 8)
    ax[2].plot(t[tt], st.chi.numpy()[i0, tt], lw=0.6, label="χ(0,t)")
    ax[2].plot(pk.t, pk.norm / pk.norm[0] * np.abs(st.chi.numpy()[i0, tt]).max() * np.exp(-(pk.t[0]) / pk.decay_time),
               "k--", lw=1, label=f"packet norm: τ = {pk.decay_time:.2f} fs")
    ax[2].set_xlabel("t [fs]")
    ax[2].set_ylabel("χ(0,t) [arb. units]")
    ax[2].legend(fontsize=7)
    ctx.figure("spacetime", fig, "Space–time picture of the Al bulk plasmon: a wave packet leaves x = 0 at the group "
                                 "velocity and decays in 2ħ/Γ")
    vg = eels.group_velocity(pk.centre_q, 0.4)
    res = st.chi.metadata["resolution"]
    ctx.table(["quantity", "measured", "expected"],
              [["period at x = 0 [fs]", f"{pk.period:.4f}", f"{2 * np.pi * eels.HBAR / 15.0:.4f} (2πħ/15 eV)"],
               ["amplitude decay [fs]", f"{pk.decay_time:.3f}", f"{2 * eels.HBAR / 0.53:.3f} (2ħ/Γ)"],
               ["packet velocity [Å/fs]", f"{pk.velocity:.2f}", f"{vg:.2f} (v_g at q = {pk.centre_q:.2f} 1/Å)"],
               ["distance before decay [Å]", f"{pk.velocity * pk.decay_time:.1f}",
                f"{vg * 2 * eels.HBAR / 0.53:.1f} (v_g·2ħ/Γ; {eels.group_velocity(1.0, 0.4) * 2 * eels.HBAR / 0.53:.0f} "
                f"at q = 1 1/Å)"],
               ["Δx = 2π/q_max [Å]", f"{res['dx']['value']:.2f}", ""],
               ["t_max = 2πħ/δE [fs]", f"{res['t_max']['value']:.1f}", ""],
               ["Δt = 2πħ/E_range [fs]", f"{res['dt']['value']:.3f}", ""],
               ["Im χ / Re χ", f"{st.chi.metadata['imag_residual']:.1e}",
                "rounding (float32 here: ~1e-7; float64: ~1e-16)"]],
              caption="Wave-packet observables and resolution limits")

    # thin film: coupled surface modes
    qf = np.linspace(0.01, 0.06, 21)
    mf, tf = eels.film_map(qf, np.arange(0.0, 25.0, 0.05), thickness=50.0, gamma=0.3, seed=1, counts_per_peak=2e4)
    ff = eels.fit_peaks(mf, (2.0, 20.0), n_peaks=2)
    cs = np.sort(ff.center, 1)
    film = eels.fit_film(qf, cs[:, 1], cs[:, 0])
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    Ef = mf.axes[1].values(mf.shape[1])
    im = ax[0].imshow(mf.numpy().T, origin="lower", aspect="auto", cmap="magma", extent=(qf[0], qf[-1], Ef[0], Ef[-1]))
    fig.colorbar(im, ax=ax[0], label="counts")
    ax[0].set_xlabel("q [1/Å]")
    ax[0].set_ylabel("E [eV]")
    ax[0].set_ylim(4, 16)
    ax[1].plot(qf, cs[:, 1], "o", ms=3, label="fitted E₊")
    ax[1].plot(qf, cs[:, 0], "o", ms=3, label="fitted E₋")
    up, lo = film.branches(qf)
    ax[1].plot(qf, up, "k-", lw=0.8, label=f"E± fit: E_p = {film.plasmon_energy:.2f} eV, d = {film.thickness:.1f} Å")
    ax[1].plot(qf, lo, "k-", lw=0.8)
    ax[1].set_xlabel("q [1/Å]")
    ax[1].set_ylabel("E [eV]")
    ax[1].legend(fontsize=7)
    ctx.figure("film", fig, "Thin film (d = 5 nm): coupled surface modes E± = (E_p/√2)√(1 ± e^{−qd})")
    ctx.data("loss_function", r.loss)
    ctx.data("dispersion", r.fit.measurement("center"))
    # phonons: a TACAW S(q, E) of Ni through the same analysis
    mn, fn, qn, fph = ni_phonon_map(n_frames=120 if ctx.small else 240)
    En = mn.axes[-1].values(mn.shape[-1]) * 1e3
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    S = mn.numpy()
    im = ax[0].imshow(np.log10(S / S.max() + 1e-6).T, origin="lower", aspect="auto", cmap="magma",
                      extent=(qn[0], qn[-1], En[0], En[-1]))
    fig.colorbar(im, ax=ax[0], label="log10 S(q,E) (norm.)")
    ax[0].set_xlabel("q along [100] [1/Å] (1/d)")
    ax[0].set_ylabel("energy loss E [meV]")
    ax[0].set_ylim(0, 45)
    ax[0].set_title("Ni TACAW q–E map (harmonic trajectory)")
    c, sc = fn.parameter("center")
    ok = np.isfinite(c[:, 0]) & (fn.status != 3)          # fitted rows (status 1: not fully converged in 60 steps)
    ax[1].errorbar(qn[ok], c[ok, 0] * 1e3, yerr=sc[ok, 0] * 1e3, fmt="o", ms=4, label="eels.fit_peaks (Lorentz)")
    for b_, lab in zip(range(3), ("TA", "TA", "LA (phonopy)")):
        ax[1].plot(qn, fph[:, b_], "k-" if b_ == 2 else "k:", lw=0.8, label=lab if b_ != 0 else None)
    ax[1].set_xlabel("q along [100] [1/Å] (1/d)")
    ax[1].set_ylabel("phonon energy [meV]")
    ax[1].legend(fontsize=7)
    ctx.figure("phonons", fig, "Phonon q–E map of Ni from TACAW (jaxem.phonons) analysed by jaxem.eels.from_sqw + "
                               "fit_peaks, against the harmonic (phonopy) branches along Γ–X–Γ")
    ctx.table(["q [1/Å]", "fitted E [meV]", "phonopy LA [meV]"],
              [[f"{qq:.3f}", f"{cc * 1e3:.2f} ± {ss * 1e3:.2f}" if o else "–", f"{ff:.2f}"]
               for qq, cc, ss, o, ff in zip(qn, c[:, 0], sc[:, 0], ok, fph[:, 2])],
              caption="Dominant (longitudinal) phonon of the TACAW map per q: q ∥ [100] ∥ the polarisation "
                      "couples to the LA branch")


def ni_phonon_map(n_frames: int = 160, time_step: float = 10.0, temperature: float = 300.0, seed: int = 0):
    """A phonon q–E map of Ni from TACAW on an analytic harmonic trajectory, analysed by jaxem.eels.

    Harmonic phonons of a 4 × 4 × 1 fcc Ni supercell (a = 3.524 Å, LAMMPS EAM forces through
    :func:`jaxem.phonons.harmonic_phonons`); the trajectory is exact for the harmonic crystal: mode
    coordinates Q(t) = Q₀ cos ωt + Q₁ sin ωt with Q₀, Q₁ two independent thermal draws (classical, T);
    exit waves Ψ(q, t) of every frame on the q points (k/4a, 0), k = 1 … 7 (Γ → X → Γ₂₀₀ along [100],
    300 kV plane wave), their TACAW spectrum, then :func:`jaxem.eels.from_sqw` and a Lorentzian fit per q.
    Returns (q–E map, fit, q [1/Å, spatial], phonopy frequencies [meV] at those q (n_q, 3 branches))."""
    import jax
    import jax.numpy as jnp

    from jaxem import Grid, eels
    from jaxem.phonons import frame_waves, harmonic_displacements, harmonic_phonons, mode_projector, tacaw_spectrum
    from jaxem.phonons.tacaw import H_MEV_FS
    from jaxem.propagate import plane_wave
    from jaxem.structure import Structure

    a = 3.524
    unit = Structure.create([[0, 0, 0], [a / 2, a / 2, 0], [a / 2, 0, a / 2], [0, a / 2, a / 2]], ["Ni"] * 4,
                            [a, a, a])
    h = harmonic_phonons(unit, (4, 4, 1), potential="Ni")
    proj = mode_projector(h)
    u = harmonic_displacements(jax.random.key(seed), proj, temperature, 2, quantum=False)
    Q0, Q1 = proj.project(u[0]), proj.project(u[1])
    w = proj.omega
    t = jnp.arange(n_frames) * time_step
    traj = jax.vmap(lambda tt: proj.displacements(Q0 * jnp.cos(w * tt) + Q1 * jnp.sin(w * tt)).real)(t)
    frames = np.asarray(proj.positions)[None] + np.asarray(traj)
    s = h.supercell
    L = np.asarray(s.lengths)
    ks = np.arange(1, 8)
    q = ks / L[0]
    fw = frame_waves(s, plane_wave(Grid.from_extent((L[1], L[0]), sampling=0.2), 300e3), frames,
                     time_step=time_step, slice_thickness=a / 2, q_region=[[0.0, float(k)] for k in q])
    spec = tacaw_spectrum(fw, window_name="hann")
    m = eels.from_sqw(spec, q=(q, "1/Å"), q_convention="spatial")
    E = m.axes[-1].values(m.shape[-1])
    fit = eels.fit_peaks(m.with_array(m.numpy() / m.numpy().max() * 1e4), (0.004, E[-1]), kind="lorentz",
                         background="none")
    prim = a / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])        # fcc primitive vectors (rows) [Å]
    frac = (prim @ np.stack([q, 0 * q, 0 * q])).T                       # q·a_i: primitive fractional coords
    f = np.sort(np.asarray(h.frequencies(frac)), -1) * H_MEV_FS * 1e-3  # THz → meV
    return m, fit, q, f
