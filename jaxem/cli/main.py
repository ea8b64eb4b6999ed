"""Entry point of the ``jaxem`` console script.

Every expected failure (bad argument or configuration, unreadable or damaged file, permission or
other OS error) is reported as one line ``jaxem <command>: error: …`` on stderr with exit status 2;
``--debug`` shows the traceback instead. An interrupted run exits with 130.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from . import commands


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``jaxem fit-hrtem: error: argument --cells: …``), exit status 2;
    sub-command parsers inherit it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="jaxem", description="Differentiable electron microscopy on JAX")
    parser.add_argument("--version", action="version", version=f"jaxem {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}" if exc.args else "missing key"
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in str(exc):
        return f"{exc.strerror or exc}: {exc.filename}"
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split("\n")[:1]) if len(text) > 2000 else text.replace("\n", " ")


def _wants_compilation_cache() -> bool:
    """The CLI's persistent compilation cache: on for GPU backends, off on the CPU backend unless
    ``JAXEM_COMPILATION_CACHE=1``; ``JAXEM_NO_COMPILATION_CACHE`` turns it off everywhere.

    CPU compiles are short, so the cache saves little there, and CPU entries can be rejected on reload on some
    hosts (jax-ml/jax#38445). (The XLA crashes of long test workers first blamed on the cache were their memory
    mappings: docs/architecture.md.)"""
    if os.environ.get("JAXEM_NO_COMPILATION_CACHE") is not None:
        return False
    if os.environ.get("JAXEM_COMPILATION_CACHE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    from ..accel.devices import default_backend

    return default_backend() != "cpu"


def main(argv=None) -> int:
    from ..validate import expected_errors

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if _wants_compilation_cache():
            from ..accel.devices import enable_compilation_cache

            enable_compilation_cache()
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"jaxem {args.command}: interrupted", file=sys.stderr)
        return 130
    except expected_errors() as exc:
        if args.debug:
            raise
        print(f"jaxem {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
