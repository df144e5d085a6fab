-- The enrichment API: CV versions (rich original + plain text, both in blob storage), which
-- tenant owns an enrichment subject, and the worker gateway's credentials.

-- One row per ingested CV version. The plain text is derived once, at ingestion, and never
-- recomputed; the same rich content for the same user is the same version (sha256).
CREATE TABLE cv_versions (
    cv_version_id text PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (tenant_id),
    user_id       text NOT NULL,
    format        text NOT NULL CHECK (format IN ('delta', 'html')),
    rich_sha256   text NOT NULL,
    -- Blob names in the artifacts container.
    rich_blob     text NOT NULL,
    text_blob     text NOT NULL,
    text_sha256   text NOT NULL,
    text_chars    integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, user_id, rich_sha256)
);
CREATE INDEX cv_versions_user_created ON cv_versions (tenant_id, user_id, created_at DESC);

-- enrichment_runs carries no tenant (it mirrors the workflows); a subject, a (job, user) pair
-- of the caller's ids, belongs to the first tenant that requests a run for it, and every API
-- read checks ownership here. Other tenants see 404, as for the rest of the API.
CREATE TABLE enrichment_subjects (
    job_id     text NOT NULL,
    user_id    text NOT NULL,
    tenant_id  text NOT NULL REFERENCES tenants (tenant_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, user_id)
);

-- Credentials of the worker gateway's callers, stored as SHA-256 hashes like api_keys.
-- role 'worker': an enrichment worker, limited to enricher_types; role 'gateway': the
-- gateway itself calling the Core's gateway-only endpoints.
CREATE TABLE worker_keys (
    key_id         text PRIMARY KEY,
    name           text NOT NULL,
    role           text NOT NULL DEFAULT 'worker' CHECK (role IN ('worker', 'gateway')),
    enricher_types text[] NOT NULL DEFAULT '{}',
    key_hash       bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    CHECK (role = 'gateway' OR cardinality(enricher_types) > 0)
);
