"""The app served on this machine, for the browser tests and the load script: the release in a
data folder indexed by ``python -m reco build``, then ``streamlit run`` on a free loopback
port, healthy before it is used and stopped after."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(data: Path, log: Path, release: str = "ml-100k") -> Iterator[tuple[int, str]]:
    """Index ``release`` in ``data`` and serve the app over it; yields the server's process id
    and its address. Raises `RuntimeError` (with the end of the server's log) when it exits or
    does not answer its health check within a minute."""
    env = {**os.environ, "RECO_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("QDRANT_URL", None)
    subprocess.run(
        [sys.executable, "-m", "reco", "build", "--dataset", release],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with streamlit_server(ROOT / "streamlit_app.py", log, env) as served:
        yield served


@contextmanager
def streamlit_server(
    script: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[int, str]]:
    """``streamlit run script`` on a free loopback port, healthy before it is yielded (process
    id, address) and stopped after."""
    port = free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.headless=true",
                "--server.address=127.0.0.1",
                f"--server.port={port}",
                "--server.fileWatcherType=none",
                "--browser.gatherUsageStats=false",
            ],
            cwd=ROOT,
            env=env if env is not None else {**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, server, log)
            yield server.pid, url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"streamlit did not become healthy in {START_SECONDS} s:\n{log.read_text()[-3000:]}"
    )
