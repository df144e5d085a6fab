"""The one settings object for every Vitae process.

Every value comes from a ``VITAE_``-prefixed environment variable (or a ``.env`` file) and
defaults to the local stack that ``vitae up`` starts. Production switches to Azure purely by
configuration: set the connection strings, or leave the keys empty and give account URLs so
that ``DefaultAzureCredential`` (managed identity) is used.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Well-known *public* development credentials of Azurite and the Cosmos emulator. They are
# documented by Microsoft, grant nothing outside a developer machine, and are refused
# outside ``environment=development`` (see ``_refuse_default_secrets``).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
COSMOS_EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
DEV_EVENT_SECRET = "vitae-local-event-secret"
# Development keys of the local scoring server; the server refuses them in production.
DEV_SCORING_KEY = "vitae-local-scoring-key"
DEV_SCORING_ADMIN_KEY = "vitae-local-scoring-admin-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VITAE_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # Free-form deployment name ("local", "canary", "blue"...): tags every metric.
    deployment: str = "local"
    state_dir: Path = Path(".vitae")

    # --- Temporal -------------------------------------------------------------------
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "resume-inference"
    temporal_tls: bool = False
    temporal_api_key: SecretStr | None = None
    # Workflows the worker keeps in memory (sticky cache). Enrichment runs wait for a lease
    # for hours, so a cache smaller than the open runs makes every lease rebuild and replay a
    # run (measured: worker CPU per run 38 → 86 ms at 1,000 open subjects with the SDK's 1,000).
    temporal_max_cached_workflows: int = 4000

    # --- Blob storage (Azurite locally) ---------------------------------------------
    # Either a connection string (Azurite, or an Azure account key) or an account URL
    # with ``blob_connection_string`` unset, which makes the clients use
    # DefaultAzureCredential (managed identity in Azure).
    blob_connection_string: SecretStr | None = None
    blob_account_url: str = f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}"
    incoming_container: str = "incoming-resumes"
    artifacts_container: str = "vitae-artifacts"
    sas_ttl_seconds: int = 600

    # --- Cosmos DB (emulator locally) -----------------------------------------------
    cosmos_endpoint: str = "https://127.0.0.1:8081"
    # Empty key => DefaultAzureCredential.
    cosmos_key: SecretStr | None = SecretStr(COSMOS_EMULATOR_KEY)
    cosmos_database: str = "vitae"
    cosmos_results_container: str = "resume-results"
    # Path of the emulator's self-signed certificate (trusted explicitly, never disabled
    # in production); ``None`` means use the system trust store.
    cosmos_ca_file: Path | None = None

    # --- PostgreSQL ledger ----------------------------------------------------------
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5433/vitae")
    database_pool_size: int = 10

    # --- Model registry (MLflow) ----------------------------------------------------
    mlflow_tracking_uri: str = ""  # empty => sqlite store under state_dir
    mlflow_artifact_root: str = ""  # empty => folder under state_dir
    model_name: str = "vitae-resume-ner"
    model_alias: str = "production"
    # How often a worker re-reads the alias, so promotions reach it without a redeploy.
    model_refresh_seconds: float = 30.0
    # Training data; unset => ``../shared/data`` beside the repository when present, else
    # the model trains on data the project generates.
    data_dir: Path | None = None
    # Quality gate of `vitae model promote` (model_runtime/promotion.py): the candidate's micro
    # F1 must reach production's + min_gain, no label may drop more than label_tolerance, and
    # every label must reach its minimum (JSON overrides of promotion.DEFAULT_MIN_LABEL_F1,
    # e.g. VITAE_MODEL_GATE_MIN_LABEL_F1='{"SKILL": 0.5}').
    model_gate_min_gain: float = 0.0
    model_gate_label_tolerance: float = 0.05
    model_gate_min_micro_f1: float = 0.50
    model_gate_min_label_f1: dict[str, float] = {}
    # Who the model audit trail records when no --actor is given; empty => the OS user.
    model_audit_actor: str = ""

    # --- Event bridge (Event Grid webhook) ------------------------------------------
    event_secret: SecretStr = SecretStr(DEV_EVENT_SECRET)
    bridge_url: str = "http://127.0.0.1:8091/v1/events/blob"
    # Locally nothing emits BlobCreated, so the API posts events itself after an upload
    # (production: Event Grid does it and this is off).
    emit_local_events: bool = True

    # --- Input limits ---------------------------------------------------------------
    max_upload_bytes: int = 10 * 1024 * 1024
    max_pdf_pages: int = 30
    max_extract_seconds: float = 20.0
    max_text_chars: int = 200_000
    # Worker processes for PDF text extraction (pure-Python pypdf is CPU-bound); 0 = a thread.
    extract_processes: int = 2

    # --- Model serving: Option A (in-process) or Option B (scoring endpoint) --------
    # "inprocess": the worker runs the registry's predictor itself. "endpoint": it calls a
    # scoring server shaped like an Azure ML managed online endpoint (``vitae up`` starts one
    # locally, ``model_runtime.serving``; in Azure, the endpoint in ``deploy/azureml/``).
    model_serving: Literal["inprocess", "endpoint"] = "inprocess"
    scoring_url: str = "http://127.0.0.1:8093/score"
    # ``Authorization: Bearer`` key of /score (the endpoint's primary key in Azure).
    scoring_key: SecretStr = SecretStr(DEV_SCORING_KEY)
    # Server side: a second key /score also accepts (Azure ML's secondary key), so keys rotate
    # with no downtime: give the server the new key here, move clients to it, then swap.
    scoring_secondary_key: SecretStr | None = None
    # Key of the local server's control plane (/admin: deployments, traffic); never given to workers.
    scoring_admin_key: SecretStr = SecretStr(DEV_SCORING_ADMIN_KEY)
    # Pin every request of this process to one deployment (``azureml-model-deployment``).
    scoring_deployment: str | None = None
    scoring_timeout_seconds: float = 20.0
    # How long a starting worker waits for the endpoint's readiness before polling anyway.
    scoring_ready_timeout_seconds: float = 60.0
    # Server side: seed of the traffic-split RNG (reproducible routing); unset = random.
    scoring_seed: int | None = None

    # --- Enrichment -----------------------------------------------------------------
    # compatibility.v1 workers' MiniLM: "int8" (default; ~1.8× faster per pair than fp32,
    # scores within 2.5 points of it, see bench.enrichment) or "fp32".
    compatibility_encoder: Literal["int8", "fp32"] = "int8"
    # Maintenance (workflows/enrichment_maintenance.py), on two Temporal Schedules that the
    # worker creates or updates when it starts (false: leave the schedules alone).
    enrichment_maintenance_schedules: bool = True
    # Unfinished runs requested longer ago than this are expired (offline workers get this
    # long to lease); pending runs, and leased runs past their lease end, after the grace.
    enrichment_stale_run_days: float = 14.0
    enrichment_stuck_run_minutes: float = 60.0
    # Input snapshots (they hold the CV text) are deleted this long after the request, once
    # the run has finished.
    enrichment_snapshot_retention_days: int = Field(default=30, ge=30, le=90)
    enrichment_expire_every_minutes: float = 15.0
    enrichment_purge_every_hours: float = 24.0

    # --- Telemetry ------------------------------------------------------------------
    applicationinsights_connection_string: SecretStr | None = None
    trace_file: Path | None = None

    @property
    def mlflow_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.state_dir / 'mlflow' / 'mlflow.db').resolve()}"

    @property
    def mlflow_artifacts(self) -> str:
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        return (self.state_dir / "mlflow" / "artifacts").resolve().as_uri()

    @property
    def model_cache_dir(self) -> Path:
        return (self.state_dir / "models" / self.model_name).resolve()

    @property
    def training_dir(self) -> Path:
        return (self.state_dir / "training").resolve()

    @property
    def training_data_dir(self) -> Path | None:
        if self.data_dir is not None:
            return self.data_dir
        beside_repo = Path(__file__).resolve().parents[2] / "shared" / "data"
        return beside_repo if beside_repo.is_dir() else None

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.event_secret.get_secret_value() == DEV_EVENT_SECRET:
            problems.append("VITAE_EVENT_SECRET is the development default")
        if self.cosmos_key and self.cosmos_key.get_secret_value() == COSMOS_EMULATOR_KEY:
            problems.append("VITAE_COSMOS_KEY is the emulator key")
        conn = self.blob_connection_string
        if conn and (AZURITE_KEY in conn.get_secret_value() or "UseDevelopmentStorage" in conn.get_secret_value()):
            problems.append("VITAE_BLOB_CONNECTION_STRING is the Azurite account")
        if problems:
            raise ValueError("refusing development secrets in production: " + "; ".join(problems))
        return self


@functools.cache
def get_settings() -> Settings:
    return Settings()


def azurite_connection_string(blob_endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={blob_endpoint};"
    )
