-- The scoring endpoint deployment (blue, green...) that served a job's model, when the
-- worker scores through an endpoint (VITAE_MODEL_SERVING=endpoint); NULL in-process.
ALTER TABLE inference_jobs ADD COLUMN model_deployment text;
