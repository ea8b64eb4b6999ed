"""Demo gallery sections (one module per capability): ``TITLE``, ``ORDER``, ``run(ctx)``."""
