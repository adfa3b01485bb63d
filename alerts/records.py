"""The alerts' tables, as the alert lifecycle reads and writes them: ``Records(store)`` is the
store's query module of the alert family (``sigwatch.store.alerts``, where its SQL lives)."""

from __future__ import annotations

from sigwatch.store.alerts import AlertTables as Records

__all__ = ["Records"]
