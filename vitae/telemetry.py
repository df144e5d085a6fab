"""OpenTelemetry for every Vitae process.

Two meters, kept apart so dashboards and alerts can treat them separately:

* ``vitae.system`` – requests, jobs, stage latencies and error rate (tagged with service and
  deployment);
* ``vitae.model`` – inference latency, entities detected, empty predictions and input text
  length (additionally tagged with model name and version, and with the scoring endpoint's
  ``model_deployment`` when a deployment served it).

Locally metrics are served in Prometheus format on ``/metrics``; when
``VITAE_APPLICATIONINSIGHTS_CONNECTION_STRING`` is set they (and traces) also go to Azure
Monitor. Names already carry their unit (``_ms``), so histograms declare no unit: the
Prometheus exporter would otherwise append ``_milliseconds`` a second time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from vitae.settings import Settings

_RATE_WINDOW_SECONDS = 300.0


class _WindowedRate:
    """Share of 'bad' events among the events of the last few minutes (for gauges)."""

    def __init__(self, window: float = _RATE_WINDOW_SECONDS) -> None:
        self._window = window
        self._events: deque[tuple[float, bool, tuple[tuple[str, str], ...]]] = deque()
        self._lock = threading.Lock()

    def add(self, bad: bool, attrs: dict[str, str]) -> None:
        with self._lock:
            self._events.append((time.monotonic(), bad, tuple(sorted(attrs.items()))))

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        cutoff = time.monotonic() - self._window
        totals: dict[tuple[tuple[str, str], ...], list[int]] = {}
        with self._lock:
            while self._events and self._events[0][0] < cutoff:
                self._events.popleft()
            for _, bad, attrs in self._events:
                t = totals.setdefault(attrs, [0, 0])
                t[0] += 1
                t[1] += int(bad)
        return [Observation(bad / total, dict(attrs)) for attrs, (total, bad) in totals.items()]


@dataclass
class SystemMetrics:
    base: dict[str, str]

    def __post_init__(self) -> None:
        meter = metrics.get_meter("vitae.system")
        self.request_count = meter.create_counter("request_count", description="HTTP requests handled")
        self.request_latency = meter.create_histogram("request_latency_ms", description="HTTP request latency (ms)")
        self.job_count = meter.create_counter("job_count", description="Inference jobs finished, by status")
        self.stage_latency = meter.create_histogram("stage_latency_ms", description="Pipeline stage latency (ms)")
        self._errors = _WindowedRate()
        meter.create_observable_gauge(
            "error_rate", callbacks=[self._errors.observe], description="Failed jobs / finished jobs, last 5 min"
        )

    def request(self, route: str, method: str, status: int, latency_ms: float) -> None:
        attrs = {**self.base, "route": route, "method": method, "status_code": str(status)}
        self.request_count.add(1, attrs)
        self.request_latency.record(latency_ms, attrs)

    def job_finished(self, status: str, error_code: str | None) -> None:
        attrs = {**self.base, "status": status, "error_code": error_code or ""}
        self.job_count.add(1, attrs)
        self._errors.add(status != "succeeded", self.base)

    def stage(self, stage: str, latency_ms: float) -> None:
        self.stage_latency.record(latency_ms, {**self.base, "stage": stage})


@dataclass
class ModelMetrics:
    base: dict[str, str]

    def __post_init__(self) -> None:
        meter = metrics.get_meter("vitae.model")
        self.inference_latency = meter.create_histogram(
            "inference_latency_ms", description="Model inference latency per resume (ms)"
        )
        self.entities_detected = meter.create_histogram(
            "entities_detected_count", description="Entities detected per resume"
        )
        self.input_text_length = meter.create_histogram(
            "input_text_length_chars", description="Characters of text given to the model per resume"
        )
        self.entities_by_label = meter.create_counter(
            "entities_detected_total", description="Entities detected, by label"
        )
        self._empty = _WindowedRate()
        meter.create_observable_gauge(
            "empty_prediction_rate",
            callbacks=[self._empty.observe],
            description="Share of resumes with no entities, last 5 min",
        )

    def prediction(
        self,
        model_name: str,
        model_version: str,
        latency_ms: float,
        text_length: int,
        labels: list[str],
        *,
        model_deployment: str | None = None,
    ) -> None:
        attrs = {**self.base, "model_name": model_name, "model_version": model_version}
        if model_deployment:
            # The scoring endpoint's deployment that served it (blue, green, ...): Option B only.
            attrs["model_deployment"] = model_deployment
        self.inference_latency.record(latency_ms, attrs)
        self.entities_detected.record(len(labels), attrs)
        self.input_text_length.record(text_length, attrs)
        for label in set(labels):
            self.entities_by_label.add(labels.count(label), {**attrs, "label": label})
        self._empty.add(not labels, attrs)


@dataclass
class Telemetry:
    system: SystemMetrics
    model: ModelMetrics
    # None when no span exporter is configured (see setup_telemetry).
    tracer_provider: TracerProvider | None


_installed: Telemetry | None = None
_install_lock = threading.Lock()


def setup_telemetry(settings: Settings, service: str) -> Telemetry:
    """Install the global meter and tracer providers once per process."""
    global _installed
    with _install_lock:
        if _installed is not None:
            return _installed
        resource = Resource.create(
            {
                "service.name": f"vitae-{service}",
                "service.namespace": "vitae",
                "deployment.environment": settings.deployment,
            }
        )
        readers: list[MetricReader] = []
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        readers.append(PrometheusMetricReader())
        span_processors: list[SpanProcessor] = []
        conn = settings.applicationinsights_connection_string
        if conn:
            from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter, AzureMonitorTraceExporter

            readers.append(
                PeriodicExportingMetricReader(AzureMonitorMetricExporter(connection_string=conn.get_secret_value()))
            )
            span_processors.append(
                BatchSpanProcessor(AzureMonitorTraceExporter(connection_string=conn.get_secret_value()))
            )
        if settings.trace_file:
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            out = open(settings.trace_file, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
            span_processors.append(
                BatchSpanProcessor(ConsoleSpanExporter(out=out, formatter=lambda s: s.to_json(indent=None) + "\n"))
            )
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
        # With no exporter, spans would go nowhere: the API's no-op provider stays, whose spans
        # are not recorded. Temporal's tracing interceptor still propagates the trace context;
        # it just no longer builds spans per workflow activation that nobody exports (about a
        # third of the worker's activation time in enrichment runs, py-spy).
        tracer_provider = TracerProvider(resource=resource) if span_processors else None
        if tracer_provider is not None:
            for processor in span_processors:
                tracer_provider.add_span_processor(processor)
            trace.set_tracer_provider(tracer_provider)
        base = {"service": service, "deployment": settings.deployment}
        _installed = Telemetry(system=SystemMetrics(base), model=ModelMetrics(base), tracer_provider=tracer_provider)
        return _installed


def prometheus_payload() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
