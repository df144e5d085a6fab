-- The enrichment run read model. Temporal workflows own the runs' state; this table mirrors
-- it for listing, history and finding queued work. Rows are written only by the
-- enrichment.record_run activity, newest state_version wins (see vitae/stores/enrichment_runs.py).

CREATE TABLE enrichment_runs (
    run_id              text PRIMARY KEY,
    enricher_type       text NOT NULL,
    -- "{job_id}:{user_id}"
    subject_key         text NOT NULL,
    job_id              text NOT NULL,
    user_id             text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending', 'queued', 'leased', 'succeeded', 'failed',
                                                        'superseded', 'expired')),
    -- Grows with every transition of the run's workflow; a write never lowers it.
    state_version       bigint NOT NULL,
    requested_at        timestamptz NOT NULL,
    queued_at           timestamptz,
    leased_at           timestamptz,
    lease_until         timestamptz,
    lease_token         text,
    worker_id           text,
    attempt             integer NOT NULL DEFAULT 0,
    max_attempts        integer NOT NULL DEFAULT 0,
    cv_version_id       text NOT NULL,
    input_snapshot_path text NOT NULL,
    score               double precision CHECK (score BETWEEN 0 AND 100),
    summary             text,
    error_code          text,
    error_message       text,
    superseded_by       text,
    finished_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- A subject's runs, newest first (history pages use run_id as the tie-breaker).
CREATE INDEX enrichment_runs_subject_requested
    ON enrichment_runs (enricher_type, subject_key, requested_at DESC, run_id DESC);
-- Queued work per enricher type, oldest first, for the gateway.
CREATE INDEX enrichment_runs_queued
    ON enrichment_runs (enricher_type, queued_at) WHERE status = 'queued';
