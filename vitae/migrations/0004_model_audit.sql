-- Model governance: the audit trail of promotions, refusals, rollbacks and deployments, and
-- each registered model version's lineage. Both tables are append-only in the database
-- itself: a trigger refuses UPDATE, DELETE and TRUNCATE, whoever connects.

CREATE FUNCTION vitae_forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TABLE model_audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL CHECK (actor <> ''),
    action       text NOT NULL CHECK (action IN (
                     'promote', 'promote_refused', 'rollback', 'rollback_refused',
                     'deploy', 'traffic', 'bootstrap', 'bootstrap_refused')),
    model_name   text NOT NULL,
    version      text,
    from_version text,
    -- The alias or deployment acted on (e.g. 'production', a scoring deployment's name).
    target       text,
    reason       text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX model_audit_model_id ON model_audit (model_name, id DESC);

CREATE TRIGGER model_audit_append_only
    BEFORE UPDATE OR DELETE ON model_audit
    FOR EACH ROW EXECUTE FUNCTION vitae_forbid_change();
CREATE TRIGGER model_audit_no_truncate
    BEFORE TRUNCATE ON model_audit
    FOR EACH STATEMENT EXECUTE FUNCTION vitae_forbid_change();

-- Lineage as recorded when Vitae registered the version: MLflow tags can be edited by anyone
-- with registry access, this copy cannot, and promotion compares the two.
CREATE TABLE model_lineage (
    model_name  text NOT NULL,
    version     text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    lineage     jsonb NOT NULL,
    PRIMARY KEY (model_name, version)
);

CREATE TRIGGER model_lineage_append_only
    BEFORE UPDATE OR DELETE ON model_lineage
    FOR EACH ROW EXECUTE FUNCTION vitae_forbid_change();
CREATE TRIGGER model_lineage_no_truncate
    BEFORE TRUNCATE ON model_lineage
    FOR EACH STATEMENT EXECUTE FUNCTION vitae_forbid_change();
