-- Tenants, their API keys, uploaded resume files and the inference job ledger.
-- Tenancy is enforced in every query by tenant_id; api keys are stored as SHA-256 hashes.

CREATE TABLE tenants (
    tenant_id    text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    display_name text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    key_id     text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants (tenant_id),
    key_hash   bytea NOT NULL,
    label      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE resume_files (
    tenant_id         text NOT NULL,
    file_id           text NOT NULL,
    storage_container text NOT NULL,
    storage_key       text NOT NULL,
    blob_url          text NOT NULL,
    sha256            text,
    size_bytes        bigint,
    original_name     text,
    content_type      text,
    -- 'api' for uploads through POST /v1/resumes, 'blob' for blobs written directly.
    source            text NOT NULL DEFAULT 'api',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, file_id),
    UNIQUE (storage_container, storage_key)
);
CREATE INDEX resume_files_tenant_created ON resume_files (tenant_id, created_at DESC);

CREATE TABLE inference_jobs (
    job_id           text PRIMARY KEY,
    tenant_id        text NOT NULL,
    file_id          text NOT NULL,
    workflow_id      text NOT NULL UNIQUE,
    trigger          text NOT NULL,
    blob_url         text NOT NULL,
    blob_etag        text NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    queued_at        timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    duration_ms      double precision,
    model_name       text,
    model_version    text,
    page_count       integer,
    text_length      integer,
    cosmos_id        text,
    result_uri       text,
    explanations_uri text,
    error_code       text,
    error_message    text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, file_id) REFERENCES resume_files (tenant_id, file_id)
);
CREATE INDEX inference_jobs_file_queued ON inference_jobs (tenant_id, file_id, queued_at DESC);
CREATE INDEX inference_jobs_open ON inference_jobs (status) WHERE status IN ('queued', 'running');
