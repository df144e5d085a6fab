"""Reference enrichment workers: they talk only to the worker gateway (``/work``)."""
