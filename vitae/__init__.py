"""Vitae: event-driven resume processing orchestrated by Temporal.

This package holds what every service shares: the settings object, the contracts that
cross workflow/activity boundaries, the store clients, telemetry, the CLI and the local
stack supervisor. Workflows, activities, the API and the model runtime live in their own
top-level packages (see the README's architecture section).
"""

__version__ = "0.1.0"
