"""The worker gateway: the HTTPS API through which external enrichment workers lease and
complete work without touching the database (built with the enrichment issue)."""
