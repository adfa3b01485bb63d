"""A real Spark standalone cluster for the tests, on 127.0.0.1: a master and two workers run
from the ``pyspark`` package's own runtime (``bin/spark-class``), free ports for everything
(web UIs included: the master's JSON page is how the tests see the workers), each process in a
session of its own so that it and the executors it launched are stopped together. A Spark
Connect server (``sbin/start-connect-server.sh``) on the same cluster when a test asks.

Each application gets one 1-core executor on each worker (``spark.cores.max`` 2, spread out),
so the tests' own driver, a command's and the Connect server can run at once (a worker
offers 4 cores' slots; the machine may have 2: slots are not CPUs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.postgres import free_port

APP_CONF = {
    "spark.cores.max": "2",
    "spark.executor.cores": "1",
    "spark.executor.memory": "512m",
    "spark.sql.shuffle.partitions": "4",
}


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


class SparkCluster:
    def __init__(self, workers: int = 2, cores: int = 4) -> None:
        self.n_workers, self.cores = workers, cores
        self.home = spark_home()
        self.folder = Path(tempfile.mkdtemp(prefix="sigwatch-spark-"))
        self.port, self.ui = free_port(), free_port()
        self.master = f"spark://127.0.0.1:{self.port}"
        self.workers: dict[str, subprocess.Popen] = {}
        self._master: subprocess.Popen | None = None
        self.connect_port: int | None = None

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SPARK_HOME": str(self.home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(self.folder / "logs"),
            "SPARK_PID_DIR": str(self.folder / "pids"),
            "SPARK_WORKER_OPTS": "-Dspark.worker.cleanup.enabled=false",
        }

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "ab") as log:  # the process has its own copy
            return subprocess.Popen(
                [str(self.home / "bin" / "spark-class"), *args],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(self) -> SparkCluster:
        self._master = self._spawn(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--webui-port",
            str(self.ui),
        )
        self._wait(lambda: self.state() is not None, "the master's web UI")
        for k in range(1, self.n_workers + 1):
            self.start_worker(f"worker-{k}")
        return self

    def start_worker(self, name: str) -> None:
        work = self.folder / name
        work.mkdir(exist_ok=True)
        self.workers[name] = self._spawn(
            name,
            "org.apache.spark.deploy.worker.Worker",
            "--host",
            "127.0.0.1",
            "--cores",
            str(self.cores),
            "--memory",
            "4g",
            "--webui-port",
            str(free_port()),
            "--work-dir",
            str(work),
            self.master,
        )
        self._wait(lambda: self.alive_workers() >= len(self.workers), f"{name} to register")

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker and every executor it launched (its process group)."""
        process = self.workers.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def state(self) -> dict | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=2) as r:
                return json.load(r)
        except OSError:
            return None

    def alive_workers(self) -> int:
        state = self.state() or {}
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")

    def _wait(self, ready, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.3)
        logs = "\n".join(p.read_text()[-2000:] for p in sorted(self.folder.glob("*.log")))
        raise RuntimeError(f"Spark: timed out waiting for {what}\n{logs}")

    # --- Spark Connect ------------------------------------------------------------------

    def start_connect(self) -> str:
        """A Spark Connect server on the cluster (``sbin/start-connect-server.sh``); its URL."""
        self.connect_port = free_port()
        conf = {
            **APP_CONF,
            "spark.connect.grpc.binding.port": str(self.connect_port),
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.sql.session.timeZone": "UTC",
        }
        args = [str(self.home / "sbin" / "start-connect-server.sh"), "--master", self.master]
        for key, value in conf.items():
            args += ["--conf", f"{key}={value}"]
        subprocess.run(
            args,
            env=self._env(),
            check=True,
            capture_output=True,
            timeout=60,
            start_new_session=True,
        )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.connect_port), 1).close()
                return True
            except OSError:
                return False

        self._wait(listening, "the Spark Connect server")
        return f"sc://127.0.0.1:{self.connect_port}"

    def _connect_pids(self) -> list[int]:
        return [int(p.read_text()) for p in (self.folder / "pids").glob("*Connect*.pid")]

    def stop_connect(self) -> None:
        """Stop the Connect server (its executors on the workers go with its driver)."""
        for pid in self._connect_pids():
            try:
                group = os.getpgid(pid)
                if group != os.getpgrp():  # never the tests' own group
                    os.killpg(group, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pidfile in (self.folder / "pids").glob("*Connect*.pid"):
            pidfile.unlink()

    def stop(self) -> None:
        self.stop_connect()
        for name in list(self.workers):
            self.kill_worker(name)
        if self._master is not None:
            os.killpg(self._master.pid, signal.SIGKILL)
            self._master.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)
