"""The Streamlit console: reads the store (monitors' statuses and slices, alerts, the outbox)
and the serving tables (through ``monitors.history``) and shows them to on-call, signal owners
and leadership. It never recomputes what the monitors own; acknowledging and silencing go
through ``alerts``."""
