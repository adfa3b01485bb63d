"""The Streamlit console: reads the store (monitors' statuses and measurements, alerts, the
outbox) and shows it to on-call, signal owners and leadership. It never recomputes what the
monitors own; acknowledging and silencing go through ``alerts``."""
