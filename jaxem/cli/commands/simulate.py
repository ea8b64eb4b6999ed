"""``jaxem simulate CONFIG.toml``: plane-wave / HRTEM / diffraction simulation from a TOML file."""
from __future__ import annotations


def register(sub):
    p = sub.add_parser("simulate", help="run a plane-wave/HRTEM/diffraction simulation described in TOML")
    p.add_argument("config", help="TOML file (see jaxem.cli.simulate_config for the schema)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args):
    from ..simulate_config import load_config, run_config

    written = run_config(load_config(args.config), progress=not args.quiet)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0
