"""Temporal activities, grouped by the resource they touch. All side effects live here."""
