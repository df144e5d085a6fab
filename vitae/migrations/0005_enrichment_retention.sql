-- Enrichment maintenance (workflows/enrichment_maintenance.py, run by Temporal Schedules):
-- when a run's input snapshot (enrichment/runs/{runId}/input.json, which holds the CV text)
-- was deleted after the retention period, and an index for finding runs stuck unfinished.
ALTER TABLE enrichment_runs ADD COLUMN input_deleted_at timestamptz;
-- Unfinished runs, for the stale-run sweep (keyset pages by run_id); small, since most runs finish.
CREATE INDEX enrichment_runs_unfinished
    ON enrichment_runs (run_id) WHERE status IN ('pending', 'queued', 'leased');
