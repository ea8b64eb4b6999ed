"""``jaxem demo``: build the gallery (``demo/index.html`` + figures + data)."""
from __future__ import annotations


def register(sub):
    p = sub.add_parser("demo", help="build the demo gallery (HTML + PNG + zarr/HDF5 data)")
    p.add_argument("--out", default="demo", help="output folder (default: demo)")
    p.add_argument("--only", nargs="*", default=None, help="run only sections whose module name matches")
    p.add_argument("--size", choices=["small", "full"], default="small", help="problem sizes")
    p.set_defaults(func=run)


def run(args):
    from ..gallery import build_gallery

    failures = build_gallery(args.out, only=args.only, size=args.size)
    return 1 if failures else 0
