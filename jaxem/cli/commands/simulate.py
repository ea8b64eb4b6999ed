"""``jaxem simulate CONFIG.toml``: plane-wave / HRTEM / diffraction simulation from a TOML file, or a
resumable 4D-STEM scan when the file has a ``[stem]`` section (:mod:`jaxem.cli.stem_config`)."""
from __future__ import annotations

from ..args import memory_bytes


def register(sub):
    p = sub.add_parser("simulate", help="run a plane-wave/HRTEM/diffraction simulation or a 4D-STEM scan described "
                                        "in TOML")
    p.add_argument("config", help="TOML file (see jaxem.cli.simulate_config and jaxem.cli.stem_config)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--resume", action="store_true", help="continue an interrupted [stem] scan (only missing blocks "
                                                         "are computed)")
    p.add_argument("--dry-run", action="store_true", help="print the memory estimate of a [stem] scan and stop")
    p.add_argument("--memory-budget", type=memory_bytes, default=None,
                   help="bytes per batched computation, e.g. 512M or 2GiB (default: a quarter of free memory)")
    p.set_defaults(func=run)


def run(args):
    from ..simulate_config import load_any_config

    cfg = load_any_config(args.config)  # parsed and checked once; the sections decide the run
    if "stem" in cfg:
        from ..stem_config import run_stem_config

        written = run_stem_config(cfg, resume=args.resume, dry_run=args.dry_run, memory_budget=args.memory_budget,
                                  progress=not args.quiet)
    else:
        if args.resume or args.dry_run or args.memory_budget is not None:
            from ...validate import InputError

            raise InputError("--resume, --dry-run and --memory-budget apply to [stem] scans (a plane-wave run is "
                             "one step)")
        from ..simulate_config import run_config

        written = run_config(cfg, progress=not args.quiet)
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0
