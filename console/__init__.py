"""The Streamlit console for on-call engineers, signal owners and leadership.

Not built yet (issue: "The console"). It will read the store (never recompute what monitors
own) and run the models only for the live spot-check. It may import the kernel (``sigwatch``),
``monitors``, ``alerts`` and ``inference``.
"""
