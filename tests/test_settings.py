"""The settings object: local defaults, and no development secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vitae.settings import AZURITE_KEY, Settings, azurite_connection_string


def test_development_defaults_point_at_the_local_stack() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.environment == "development" and s.incoming_container == "incoming-resumes"
    assert s.mlflow_uri.startswith("sqlite:///")


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="development secrets"):
        Settings(_env_file=None, environment="production")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="Azurite"):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            environment="production",
            event_secret="s3cret",
            cosmos_key="",
            blob_connection_string=azurite_connection_string("http://x"),
        )


def test_production_accepts_real_configuration() -> None:
    s = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="production",
        event_secret="s3cret",
        cosmos_key="",
        blob_account_url="https://acct.blob.core.windows.net",
        cosmos_endpoint="https://acct.documents.azure.com",
    )
    assert s.blob_connection_string is None and AZURITE_KEY not in s.blob_account_url
