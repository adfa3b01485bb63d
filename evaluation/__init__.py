"""The LLM judge as a measured instrument: an OpenAI-compatible client that labels posts by a
per-signal rubric (``judge``), stratified seeded sampling within a budget (``sampling``), and
calibration against human labels with the corrections that follow from it (``calibration``)."""
