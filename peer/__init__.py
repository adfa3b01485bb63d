"""Checks against the reference implementations (NannyML, ppi-python), run by ``make peer`` in
their own virtualenv (``.venv-peer``, about 2.4 GB: never part of ``make test``). Each writes a
small golden file under ``tests/fixtures/peer/`` that ``make test`` compares sigwatch with."""
