"""HTTP services: the tenant-facing API (``api.app``) and the blob-event bridge (``api.bridge``)."""
