"""content-type-distilled: the content_type student distilled from the LLM judge by
``sigwatch distill content_type``. Its head is generated into ``<data>/models/`` (never
committed); point a signal at it with ``model: {id: content-type-distilled}``."""

from __future__ import annotations

from pathlib import Path

from inference.heads import HeadModel, LinearHead
from sigwatch.settings import Settings

MODEL_ID = "content-type-distilled"
VERSION = "distilled-1"


def artifact_path(data_dir: Path) -> Path:
    return data_dir / "models" / f"{MODEL_ID}.npz"


def card_path(data_dir: Path) -> Path:
    return data_dir / "models" / f"{MODEL_ID}.md"


def load(data_dir: Path | None = None) -> HeadModel:
    path = artifact_path(data_dir or Settings.from_env().data_dir)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: the distilled content_type model has not been built in this data folder; "
            "run: sigwatch distill content_type"
        )
    return HeadModel(MODEL_ID, VERSION, "multiclass", LinearHead.load(path))
