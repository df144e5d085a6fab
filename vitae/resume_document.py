"""The JSON shapes of a processed resume.

``result_document`` is both the Cosmos document and the immutable ``result.json`` artifact;
``explanations_document`` lists every entity with its character offsets, source line and
confidence (``explanations.json``). Both carry the model version and timestamps.
"""

from __future__ import annotations

from typing import Any

from vitae.contracts import ResumeResult

# /2: the contact fields are grouped under "contact"; experience entries carry "dates".
RESULT_SCHEMA = "vitae.resume-result/2"
EXPLANATIONS_SCHEMA = "vitae.resume-explanations/1"


def _model(result: ResumeResult) -> dict[str, str]:
    inference = result.inference
    model = {"name": inference.model_name, "version": inference.model_version}
    if inference.model_deployment:  # served by a scoring endpoint (Option B)
        model["deployment"] = inference.model_deployment
    return model


def result_document(result: ResumeResult) -> dict[str, Any]:
    doc = result.document
    return {
        "id": result.file_id,
        "schema": RESULT_SCHEMA,
        "tenantId": result.tenant_id,
        "fileId": result.file_id,
        "jobId": result.job_id,
        "jobQueuedAt": result.queued_at.isoformat(),
        **result.inference.fields,
        "model": _model(result),
        "processing": {
            "pipelineVersion": result.pipeline_version,
            "processedAt": result.processed_at.isoformat(),
            "pageCount": doc.page_count,
            "textLength": doc.text_length,
            "textTruncated": doc.truncated,
            "pdfSha256": doc.pdf_sha256,
            "pdfBytes": doc.pdf_bytes,
            "extractMs": round(doc.extract_ms, 2),
            "inferenceMs": round(result.inference.inference_ms, 2),
            "entityCount": len(result.inference.entities),
        },
        "processedAt": result.processed_at.isoformat(),
    }


def explanations_document(result: ResumeResult) -> dict[str, Any]:
    return {
        "schema": EXPLANATIONS_SCHEMA,
        "jobId": result.job_id,
        "fileId": result.file_id,
        "tenantId": result.tenant_id,
        "model": _model(result),
        "processedAt": result.processed_at.isoformat(),
        "textUri": result.document.text_uri,
        "entities": [
            {
                "label": e.label,
                "text": e.text,
                "start": e.start,
                "end": e.end,
                "line": e.line,
                "confidence": round(e.confidence, 4),
                "source": e.source,
            }
            for e in result.inference.entities
        ],
    }
