"""The ``jaxem`` command: sub-commands live in ``jaxem/cli/commands/`` (one module each, with
``register(subparsers)``), demo gallery sections in ``jaxem/cli/sections/`` (one module each, with
``TITLE``, ``ORDER`` and ``run(ctx)``). Both are discovered automatically."""
