"""Option B serving: a scoring server shaped like an Azure ML managed online endpoint.

``payload`` (request/response shape, shared with ``deploy/azureml/score.py``), ``state``
(deployments, traffic, mirror traffic; validation and persistence), ``runtime`` (loaded
deployments, routing, control plane), ``endpoint`` (the FastAPI app), ``audit`` (where
control-plane changes are recorded). Run it with ``python -m model_runtime.serving --port N``
(``vitae up`` does when ``VITAE_MODEL_SERVING=endpoint``).
"""
