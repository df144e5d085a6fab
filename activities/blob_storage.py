"""Activities that touch blob storage: reading the uploaded PDF and writing artifacts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.extraction_pool import ExtractionPool
from activities.text_cache import TextCache
from vitae.contracts import (
    ARTIFACT_CONFLICT,
    BLOB_NOT_FOUND,
    ActivityName,
    ArtifactPointers,
    ExtractedDocument,
    ExtractTextInput,
    ResumeResult,
)
from vitae.pdf_text import ErrorCode, ExtractionError, ExtractionLimits
from vitae.resume_document import explanations_document, result_document
from vitae.stores.blob import BlobStore, BlobTooLargeError, ImmutableArtifactError, ResourceNotFoundError


def _json_bytes(doc: object) -> bytes:
    # Sorted keys: a retried write must produce the very same bytes (immutable artifacts).
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


class BlobActivities:
    def __init__(
        self,
        blobs: BlobStore,
        *,
        artifacts_container: str,
        limits: ExtractionLimits,
        texts: TextCache,
        extractor: ExtractionPool,
        job_finished: Callable[[str], Awaitable[bool]],
    ) -> None:
        self._blobs = blobs
        self._job_finished = job_finished
        self._artifacts = artifacts_container
        self._limits = limits
        self._texts = texts
        self._extractor = extractor

    @activity.defn(name=ActivityName.EXTRACT_TEXT)
    async def extract_text(self, inp: ExtractTextInput) -> ExtractedDocument:
        try:
            where = self._blobs.locate(inp.blob_url)
            data = await self._blobs.download(where.container, where.name, max_bytes=self._limits.max_bytes)
        except ValueError as err:
            raise ApplicationError(str(err), type=BLOB_NOT_FOUND, non_retryable=True) from None
        except ResourceNotFoundError:
            raise ApplicationError(
                "the uploaded blob no longer exists", type=BLOB_NOT_FOUND, non_retryable=True
            ) from None
        except BlobTooLargeError as err:
            raise ApplicationError(
                f"file is {err.size} bytes, over the {self._limits.max_bytes}-byte limit",
                type=ErrorCode.PDF_TOO_LARGE,
                non_retryable=True,
            ) from None
        try:
            extracted = await self._extractor.extract(data, self._limits)
        except ExtractionError as err:
            raise ApplicationError(err.message, type=err.code, non_retryable=True) from None
        started = time.perf_counter()
        text_uri = await self._blobs.write_once(
            self._artifacts,
            f"jobs/{inp.job_id}/text.txt",
            extracted.text.encode(),
            content_type="text/plain; charset=utf-8",
        )
        activity.logger.debug("text stored in %.1f ms", (time.perf_counter() - started) * 1000)
        self._texts.put(text_uri, extracted.text)
        return ExtractedDocument(
            text_uri=text_uri,
            page_count=extracted.page_count,
            text_length=extracted.char_count,
            truncated=extracted.truncated,
            pdf_sha256=hashlib.sha256(data).hexdigest(),
            pdf_bytes=len(data),
            extract_ms=extracted.elapsed_ms,
        )

    @activity.defn(name=ActivityName.WRITE_ARTIFACTS)
    async def write_artifacts(self, result: ResumeResult) -> ArtifactPointers:
        metadata = {
            "jobid": result.job_id,
            "modelname": result.inference.model_name,
            "modelversion": result.inference.model_version,
            "pipelineversion": result.pipeline_version,
        }
        if result.inference.model_deployment:
            metadata["modeldeployment"] = result.inference.model_deployment
        prefix = f"jobs/{result.job_id}"
        documents = {
            f"{prefix}/result.json": _json_bytes(result_document(result)),
            f"{prefix}/explanations.json": _json_bytes(explanations_document(result)),
        }

        async def write_one(name: str, data: bytes, *, replace: bool) -> str:
            if not replace:
                return await self._blobs.write_once(
                    self._artifacts, name, data, content_type="application/json", metadata=metadata
                )
            await self._blobs.upload(self._artifacts, name, data, content_type="application/json", metadata=metadata)
            return self._blobs.url_for(self._artifacts, name)

        async def write(*, replace: bool) -> list[str]:
            return await asyncio.gather(*(write_one(n, d, replace=replace) for n, d in documents.items()))

        try:
            result_uri, explanations_uri = await write(replace=False)
        except ImmutableArtifactError as err:
            # Different bytes under this job's names. A retried write of a result recorded in
            # history rebuilds the very same bytes, so these come from an execution whose
            # result never reached history: a worker that stopped after writing and before its
            # workflow task completed (the model runs in that same task). Until the ledger
            # records the job's outcome they are that lost attempt's leftovers, and this
            # attempt's result replaces them; after it, artifacts never change.
            if await self._job_finished(result.job_id):
                raise ApplicationError(str(err), type=ARTIFACT_CONFLICT, non_retryable=True) from None
            activity.logger.info("job %s: replacing artifacts left by an unfinished attempt", result.job_id)
            result_uri, explanations_uri = await write(replace=True)
        return ArtifactPointers(result_uri=result_uri, explanations_uri=explanations_uri)

    async def read_text(self, text_uri: str) -> str:
        cached = self._texts.take(text_uri)
        if cached is not None:
            return cached
        where = self._blobs.locate(text_uri)
        return (await self._blobs.download(where.container, where.name)).decode()
