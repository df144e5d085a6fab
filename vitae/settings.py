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

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Well-known *public* development credentials of Azurite and the Cosmos emulator. They are
# documented by Microsoft, grant nothing outside a developer machine, and are refused
# outside ``environment=development`` (see ``_refuse_default_secrets``).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
COSMOS_EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
DEV_EVENT_SECRET = "vitae-local-event-secret"


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
