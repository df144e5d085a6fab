"""Tenants see only their own files, jobs and results; the bridge authenticates its sender."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.e2e.conftest import LiveStack, upload, wait_for_job

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(loop_scope="session")]


def issue_key(stack: LiveStack, tenant: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "vitae", "tenant", "create", tenant],
        check=True,
        capture_output=True,
        text=True,
        env={**stack.info.env, "PATH": "/usr/bin:/bin"},
    ).stdout
    import json

    return str(json.loads(out)["api_key"])


async def test_other_tenant_gets_404_everywhere(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    mine = await upload(api, FIXTURES / "resume_ok.pdf")
    await wait_for_job(api, mine["jobId"])
    other_key = issue_key(live_stack, "other-co")
    async with httpx.AsyncClient(base_url=live_stack.api_url, headers={"X-API-Key": other_key}) as other:
        assert (await other.get(f"/v1/jobs/{mine['jobId']}")).status_code == 404
        assert (await other.get(f"/v1/resumes/{mine['fileId']}")).status_code == 404
        assert (await other.post(f"/v1/resumes/{mine['fileId']}/reprocess")).status_code == 404
        assert (await other.get("/v1/resumes", params={"skill": "python"})).json()["count"] == 0
        # Their own upload works and is theirs alone.
        theirs = await upload(other, FIXTURES / "resume_ok.pdf")
        assert (await wait_for_job(other, theirs["jobId"]))["status"] == "succeeded"
    assert (await api.get(f"/v1/jobs/{theirs['jobId']}")).status_code == 404
    assert (await api.get("/v1/jobs/job-does-not-exist")).status_code == 404


async def test_missing_or_bad_api_key_is_401(live_stack: LiveStack) -> None:
    async with httpx.AsyncClient(base_url=live_stack.api_url) as anon:
        assert (await anon.get("/v1/jobs/x")).status_code == 401
        assert (await anon.get("/v1/jobs/x", headers={"X-API-Key": "vk_nope_nope"})).status_code == 401
        assert (await anon.get("/v1/jobs/x", headers={"Authorization": "Bearer garbage"})).status_code == 401


async def test_bridge_handshake_auth_and_validation(live_stack: LiveStack) -> None:
    settings = live_stack.settings
    secret = {"x-vitae-event-secret": settings.event_secret.get_secret_value()}
    validation = [
        {
            "id": "1",
            "topic": "/t",
            "subject": "",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "eventTime": "2026-01-01T00:00:00Z",
            "dataVersion": "1",
            "data": {"validationCode": "abc-123"},
        }
    ]
    async with httpx.AsyncClient(timeout=10) as http:
        url = settings.bridge_url
        assert (await http.post(url, json=validation, headers=secret)).json() == {"validationResponse": "abc-123"}
        assert (await http.post(url, json=validation)).status_code == 401
        assert (await http.post(url, json=validation, headers={"x-vitae-event-secret": "wrong"})).status_code == 401
        assert (await http.post(url + f"?code={secret['x-vitae-event-secret']}", json=validation)).status_code == 200
        assert (await http.post(url, content=b"{not json", headers=secret)).status_code == 400
        garbage = [
            {"id": "2", "eventType": "Microsoft.Storage.BlobCreated", "subject": "/x", "data": {"api": "PutBlob"}}
        ]
        assert (await http.post(url, json=garbage, headers=secret)).status_code == 400
        other = [{**validation[0], "eventType": "Microsoft.Storage.BlobDeleted", "data": {}}]
        assert (await http.post(url, json=other, headers=secret)).json()["ignored"] == 1
        options = await http.options(url, headers={"WebHook-Request-Origin": "eventgrid.azure.net"})
        assert options.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
