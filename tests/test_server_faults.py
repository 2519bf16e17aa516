"""A Qdrant server that refuses, hangs, rejects the key or stops answering mid-session.

Real sockets on localhost: a closed port, a listener that never answers, a small HTTP server
that answers 401 or 503. The message is clear, comes within the timeout, and never holds the
API key; the app offers a retry and keeps the ratings.
"""

from __future__ import annotations

import http.server
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from conftest import ROOT, rating_slider, two_taste_dataset, write_release
from qdrant_client import QdrantClient
from streamlit.testing.v1 import AppTest

from app import state as keys
from app.state import RATINGS, per_release
from reco.recommend import Recommender
from reco.store import QdrantServerStore, StoreUnavailable, open_store, safe_url

ML100K_RATINGS = per_release(RATINGS, "ml-100k")  # the session key of those ratings

KEY = "sk-very-secret-key-123"
pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def hanging_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def answering_server(status: int) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            body = b'{"status": {"error": "nope"}}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def refusing_key_server() -> Iterator[str]:
    yield from answering_server(401)


@pytest.fixture
def failing_server() -> Iterator[str]:
    yield from answering_server(503)


# --------------------------------------------------------------------------- connecting


def test_closed_port_is_retried_then_a_clear_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.perf_counter()
    with pytest.raises(StoreUnavailable) as error:
        open_store("ml", url=url, api_key=KEY, timeout=2)
    elapsed = time.perf_counter() - started
    message = str(error.value)
    assert message.startswith(f"cannot reach the Qdrant server at {url} (")
    assert "attempt(s)" in message and "1 attempt(s)" not in message  # it did retry
    assert 1.0 < elapsed < 5
    assert KEY not in message and KEY not in caplog.text


def test_server_that_never_answers_times_out(hanging_server: str) -> None:
    started = time.perf_counter()
    with pytest.raises(StoreUnavailable, match="timed out") as error:
        open_store("ml", url=hanging_server, api_key=KEY, timeout=1)
    assert time.perf_counter() - started < 5
    assert KEY not in str(error.value)


def test_refused_key_fails_at_once_without_showing_it(
    refusing_key_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    with pytest.raises(StoreUnavailable, match="the API key was refused; 1 attempt") as error:
        open_store("ml", url=refusing_key_server, api_key=KEY, timeout=5)
    assert time.perf_counter() - started < 2  # no retry with a wrong key
    assert KEY not in str(error.value) and KEY not in caplog.text


def test_credentials_in_the_url_are_never_shown() -> None:
    url = f"http://admin:hunter2@127.0.0.1:{closed_port()}/?api-key={KEY}"
    with pytest.raises(StoreUnavailable) as error:
        open_store("ml", url=url, timeout=0.5)
    assert "hunter2" not in str(error.value) and KEY not in str(error.value)
    assert safe_url(url).startswith("http://127.0.0.1:") and "?" not in safe_url(url)


@pytest.mark.parametrize("value", ["soon", "-1", "0", "99999"])
def test_bad_timeout_setting_is_a_message(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("QDRANT_TIMEOUT", value)
    with pytest.raises(StoreUnavailable, match="timeout|QDRANT_TIMEOUT"):
        open_store("ml", url="http://127.0.0.1:1")


# --------------------------------------------------------------------------- mid-session


@pytest.fixture
def recommender() -> Recommender:
    store = QdrantServerStore(QdrantClient(":memory:"), "two-taste")
    return Recommender.build(two_taste_dataset(), store)


SCIFI_FAN = {1: 5.0, 2: 5.0, 3: 4.0}


def server_goes_away(recommender: Recommender, url: str) -> None:
    """The engine behind the store is now ``url``: the server moved, died or hangs."""
    recommender.store.client = QdrantClient(url=url, timeout=1, check_compatibility=False)
    recommender.store.where = f"the Qdrant server at {url}"


@pytest.mark.parametrize("fault", ["closed", "hanging", "503"])
def test_server_stopping_mid_session_is_store_unavailable(
    recommender: Recommender, fault: str, hanging_server: str, failing_server: str
) -> None:
    assert recommender.recommend(SCIFI_FAN)[0].movie_id == 4
    url = {
        "closed": f"http://127.0.0.1:{closed_port()}",
        "hanging": hanging_server,
        "503": failing_server,
    }[fault]
    server_goes_away(recommender, url)
    started = time.perf_counter()
    with pytest.raises(StoreUnavailable, match=f"the Qdrant server at {url} stopped answering"):
        recommender.recommend(SCIFI_FAN)
    with pytest.raises(StoreUnavailable):
        recommender.population("age_group")
    assert time.perf_counter() - started < 6


# --------------------------------------------------------------------------- CLI


def test_cli_says_the_server_is_unreachable_without_a_traceback(tmp_path: Path) -> None:
    release = write_release(tmp_path / "two-taste", "ml-100k", two_taste_dataset())
    env = {
        **os.environ,
        "QDRANT_URL": f"http://127.0.0.1:{closed_port()}",
        "QDRANT_API_KEY": KEY,
        "QDRANT_TIMEOUT": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "reco", "recommend", "--dataset", str(release), "--rate", "1=5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "error: cannot reach the Qdrant server at http://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
    assert KEY not in done.stderr + done.stdout


# --------------------------------------------------------------------------- app


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    data = tmp_path / "data"
    write_release(data / "ml-100k", "ml-100k", two_taste_dataset())
    monkeypatch.setenv("RECO_DATA_DIR", str(data))
    monkeypatch.setenv("QDRANT_TIMEOUT", "1")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    st.cache_resource.clear()
    st.cache_data.clear()


def shown_text(app: AppTest) -> str:
    parts = [
        e.value
        for kind in ("error", "info", "warning", "markdown", "caption")
        for e in getattr(app, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_app_says_the_server_is_unreachable_and_retry_recovers(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.secrets["QDRANT_URL"] = f"http://127.0.0.1:{closed_port()}"
    app.secrets["QDRANT_API_KEY"] = KEY
    app.query_params["r"] = "1:5,2:5,3:4"
    app.run()
    assert not app.exception
    assert "The vector engine is unavailable: cannot reach the Qdrant server" in app.error[0].value
    assert KEY not in shown_text(app)
    assert app.button(key=keys.RETRY)

    # the server is back (here: the in-process engine stands in for it); Retry reconnects
    app.secrets["QDRANT_URL"] = ":memory:"
    app.button(key=keys.RETRY).click().run()
    assert not app.exception and not app.error
    assert dict(app.session_state[ML100K_RATINGS]) == {1: 5.0, 2: 5.0, 3: 4.0}
    assert "🎯 Recommended for you" in [s.value for s in app.subheader]


def test_app_keeps_ratings_when_the_server_stops_mid_session(
    app: AppTest, hanging_server: str
) -> None:
    app.secrets["QDRANT_URL"] = ":memory:"
    app.query_params["r"] = "1:5,2:5,3:4"
    app.run()
    assert "🎯 Recommended for you" in [s.value for s in app.subheader]

    stores = [s for s in _live(QdrantServerStore) if s.name == "ml-100k"]
    assert stores, "the app's store"
    for store in stores:
        store.client = QdrantClient(url=hanging_server, timeout=1, check_compatibility=False)
        store.where = f"the Qdrant server at {hanging_server}"
    app.text_input(key=keys.SEARCH).input("amelie").run()
    rating_slider(app, "search", 5).set_value(1.0).run()
    assert not app.exception
    assert "stopped answering (timed out)" in app.error[0].value.replace("\\", "")  # md-escaped
    assert dict(app.session_state[ML100K_RATINGS]) == {1: 5.0, 2: 5.0, 3: 4.0, 5: 1.0}
    assert app.button(key=keys.RETRY)
    assert app.query_params["r"] == "1:5,2:5,3:4,5:1"  # the link holds the new rating too


def _live(kind: type) -> list:
    """Objects of ``kind`` alive in this process: the app's cached engine is not reachable
    from an AppTest otherwise, and its server is what goes away here."""
    import gc

    return [o for o in gc.get_objects() if isinstance(o, kind)]
