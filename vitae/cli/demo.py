"""``vitae up --demo``: push sample resumes through the running stack and show the results."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from vitae.settings import Settings

DEMO_COUNT = 20
_FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "resume_ok.pdf"


def demo_files(settings: Settings) -> list[Path]:
    """20 real resumes from ``../shared/data/livecareer-pdfs`` (one per category first),
    or the project's own sample resume when that data is not on this machine."""
    data = settings.training_data_dir
    folder = data / "livecareer-pdfs" if data else None
    if folder and folder.is_dir():
        by_category = [sorted(c.glob("*.pdf")) for c in sorted(folder.iterdir()) if c.is_dir()]
        picked = [pdfs[0] for pdfs in by_category if pdfs]
        picked += [p for pdfs in by_category for p in pdfs[1:]]
        return picked[:DEMO_COUNT]
    return [_FIXTURE]


def _describe(result: dict[str, Any]) -> str:
    titles = result.get("titles") or ["-"]
    model = result["model"]
    return (
        f"title: {str(titles[0])[:30]:30} skills: {len(result.get('skills') or []):3}  "
        f"model {model['name']} v{model['version']}"
    )


def run_demo(stack_env: dict[str, str], urls: dict[str, str]) -> int:
    from vitae.cli.resumes import ApiClient, upload_and_wait

    os.environ.update(stack_env)
    files = demo_files(Settings())
    print(f"\nuploading {len(files)} sample resume(s) through the API...")
    outcomes, summary = asyncio.run(upload_and_wait(files, concurrency=4, timeout=300, wait=True))

    async def fetch_results() -> list[tuple[str, dict[str, Any] | None]]:
        async with ApiClient.from_environment().http() as http:
            out: list[tuple[str, dict[str, Any] | None]] = []
            for o in sorted(outcomes, key=lambda o: str(o.path)):
                body = (await http.get(f"/v1/resumes/{o.file_id}")).json() if o.file_id else {}
                out.append((o.path.name, body.get("result")))
            return out

    for name, result in asyncio.run(fetch_results()):
        print(f"  {name:28} {_describe(result) if result else 'no result'}")
    print(
        f"inspect runs in the Temporal Web UI: {urls.get('temporal_ui', '')}  ·  API docs: {urls.get('api_docs', '')}"
    )
    print(json.dumps(summary))
    return 1 if summary["failed"] else 0
