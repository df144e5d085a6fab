"""One entry of the model audit trail: who changed what the model serving does, when and why.

Made by the promotion commands (:mod:`model_runtime.promotion`: promote, rollback, bootstrap,
and their refusals) and the scoring endpoint's control plane (:mod:`model_runtime.serving`:
deploy, traffic); stored append-only by :mod:`vitae.stores.model_audit`. One type for all
three, so a field added to the trail is added once. Light on purpose: the scoring server
imports it without the database driver.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Kept in step with the CHECK constraint of migration 0004_model_audit.sql.
ACTIONS = frozenset(
    {
        "promote",
        "promote_refused",
        "rollback",
        "rollback_refused",
        "deploy",
        "traffic",
        "bootstrap",
        "bootstrap_refused",
    }
)


@dataclass(frozen=True)
class ModelEvent:
    action: str  # one of ACTIONS
    actor: str
    model_name: str
    version: str | None  # the version acted on (None for a traffic change)
    reason: str | None = None
    from_version: str | None = None
    target: str | None = None  # the alias or deployment acted on
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Refused here rather than by the database, so an in-memory trail holds the same rules.
        if self.action not in ACTIONS:
            raise ValueError(f"unknown model audit action {self.action!r} (one of {sorted(ACTIONS)})")
        if not self.actor or not self.actor.strip():
            raise ValueError("a model audit event needs an actor")
        object.__setattr__(self, "actor", self.actor.strip())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
