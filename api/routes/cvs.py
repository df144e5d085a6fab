"""``/v1/cvs``: ingest a CV in rich form (Quill Delta JSON or HTML) as an immutable version.

The plain text enrichers read is derived here, once; both forms are stored in blob storage
under the returned ``cvVersionId``. Sending the same CV for the same user again returns the
same version (200 instead of 201).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import Field

from api.deps import Services, TenantId
from api.routes.enrichment import ID_PATTERN, Core, _Body, http_error
from vitae.enrichment_core import CoreError
from vitae.stores.cv_versions import CvVersion

router = APIRouter(prefix="/v1/cvs", tags=["cvs"])


class CvBody(_Body):
    user_id: str = Field(pattern=ID_PATTERN)
    format: Literal["delta", "html"]
    # Delta: the document object (or its JSON text); HTML: the markup.
    content: str | dict[str, Any] | list[Any]


def _cv_view(cv: CvVersion) -> dict[str, Any]:
    return {
        "cvVersionId": cv.cv_version_id,
        "userId": cv.user_id,
        "format": cv.format,
        "textChars": cv.text_chars,
        "textSha256": cv.text_sha256,
        "createdAt": cv.created_at.isoformat(),
    }


@router.post("", status_code=status.HTTP_201_CREATED)
async def ingest_cv(body: CvBody, response: Response, tenant: TenantId, core: Core) -> dict[str, Any]:
    try:
        ingested = await core.ingest_cv(tenant, body.user_id, body.format, body.content)
    except CoreError as err:
        raise http_error(err) from err
    if not ingested.created:
        response.status_code = status.HTTP_200_OK
    return {**_cv_view(ingested.cv), "created": ingested.created}


@router.get("/{cv_version_id}")
async def get_cv(
    cv_version_id: Annotated[str, Path(max_length=100)], tenant: TenantId, core: Core, services: Services
) -> dict[str, Any]:
    """The version's metadata and short-lived read-only links to both stored forms."""
    cv = await core.cvs.get(tenant, cv_version_id)
    if cv is None:  # unknown and other tenants' versions look the same
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="CV version not found")
    ttl = timedelta(seconds=services.settings.sas_ttl_seconds)
    return {
        **_cv_view(cv),
        "links": {
            "text": await core.blobs.read_sas_url(core.container, cv.text_blob, ttl),
            "rich": await core.blobs.read_sas_url(core.container, cv.rich_blob, ttl),
            "expiresInSeconds": int(ttl.total_seconds()),
        },
    }
