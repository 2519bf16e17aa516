"""Load on one `streamlit run` of the app: N sessions, each changing a rating every 2 s.

A light client, so that the server is the bottleneck: each session is a websocket speaking
Streamlit's own messages (`streamlit.proto`), as the browser does — a BackMsg asks for a rerun
with the changed slider's value, the ForwardMsg ``script_finished`` ends it. No browser.

For each N it prints (and writes to ``--out`` as JSON and markdown): reruns, errors (time-outs,
failed runs, dropped connections), the latency from sending a change to the end of the rerun
(p50, p95), and the server process's CPU time per rerun (from /proc). Last, memory: the
server's RSS before and after ``--memory-reruns`` reruns as fast as one session can ask.

Bounded: loopback only, at most ``--max-sessions`` sessions, a fixed duration per N.

    python scripts/load.py                       # N = 5, 10, 30 for 60 s each; 1,000 reruns
    python scripts/load.py --sessions 5 --seconds 10 --memory-reruns 100   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from local_app import serving  # beside this script
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
LINK = "r=50:5,172:5,181:5"  # the Star Wars trilogy: a personalised page from the start
STARS = ("3 ★", "3.5 ★", "4 ★", "4.5 ★", "5 ★")
TIMEOUT = 30.0  # seconds a rerun may take before it counts as an error
MAX_SESSIONS = 50
CLOCK = os.sysconf("SC_CLK_TCK")


FINISHED = (  # a whole run, or one of the fragments a rating reruns (the main column, My ratings)
    "FINISHED_SUCCESSFULLY",
    "FINISHED_FRAGMENT_RUN_SUCCESSFULLY",
)


@dataclass
class Result:
    sessions: int
    seconds: float
    reruns: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    rss_mb_before: float = 0.0
    rss_mb_after: float = 0.0

    def summary(self) -> dict[str, float | int]:
        ordered = sorted(self.latencies)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0
        return {
            "sessions": self.sessions,
            "seconds": self.seconds,
            "reruns": self.reruns,
            "errors": self.errors,
            "p50_s": round(statistics.median(ordered), 3) if ordered else 0.0,
            "p95_s": round(p95, 3),
            "server_cpu_ms_per_rerun": round(1000 * self.cpu_seconds / max(self.reruns, 1), 1),
            "rss_mb_before": round(self.rss_mb_before, 1),
            "rss_mb_after": round(self.rss_mb_after, 1),
        }


# --------------------------------------------------------------------------- the server


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --------------------------------------------------------------------------- one session


class Session:
    """One person's page over a websocket: reruns with widget changes, as the browser asks."""

    def __init__(self, url: str):
        self.url = url
        self.widgets: dict[str, str] = {}  # user key -> widget id
        self.socket: websockets.ClientConnection | None = None

    async def open(self) -> None:
        self.socket = await websockets.connect(
            self.url,
            subprotocols=["streamlit"],
            origin="http://127.0.0.1",
            max_size=None,
            open_timeout=TIMEOUT,
        )
        await self.rerun()

    async def rerun(self, key: str | None = None, value: str | None = None) -> float:
        """Ask for a rerun (with the slider ``key`` set to ``value``); the seconds until the
        script finished. Raises `RuntimeError` when the run fails or times out."""
        message = BackMsg()
        message.rerun_script.query_string = LINK
        if key is not None:
            state = message.rerun_script.widget_states.widgets.add()
            state.id = self.widgets[key]
            state.string_array_value.data.append(value)
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        async with asyncio.timeout(TIMEOUT):
            while True:
                forward = ForwardMsg()
                forward.ParseFromString(await self.socket.recv())
                kind = forward.WhichOneof("type")
                if kind == "delta":
                    self._note_widget(forward)
                elif kind == "script_finished":
                    status = ForwardMsg.ScriptFinishedStatus.Name(forward.script_finished)
                    if status in FINISHED:
                        return time.perf_counter() - started
                    if status != "FINISHED_EARLY_FOR_RERUN":
                        raise RuntimeError(f"script run ended with {status}")

    def _note_widget(self, forward: ForwardMsg) -> None:
        delta = forward.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        widget = getattr(element, kind, None) if kind else None
        widget_id = getattr(widget, "id", "")
        if widget_id.startswith("$$ID-"):
            self.widgets[_user_key(widget_id)] = widget_id

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


def _user_key(widget_id: str) -> str:
    """``$$ID-<hash>-<user key>`` -> the user key (which may itself hold dashes)."""
    return widget_id.split("-", 2)[2] if widget_id.count("-") >= 2 else widget_id


async def person(url: str, until: float, interval: float, result: Result, seed: int) -> None:
    """Open the page, then change one of the three ratings every ``interval`` seconds."""
    rng = random.Random(seed)
    session = Session(url)
    try:
        await session.open()
        result.reruns += 1  # the first page is a run of the script too (not in the latencies)
        await asyncio.sleep(rng.uniform(0, interval))  # people do not click in step
        while time.monotonic() < until:
            started = time.monotonic()
            movie = rng.choice((50, 172, 181))
            try:
                result.latencies.append(await session.rerun(f"mine-{movie}", rng.choice(STARS)))
                result.reruns += 1
            except (RuntimeError, TimeoutError, KeyError, websockets.ConnectionClosed):
                result.errors += 1
                await session.close()
                session = Session(url)
                await session.open()
                result.reruns += 1
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    except (OSError, TimeoutError, websockets.WebSocketException):
        result.errors += 1
    finally:
        await session.close()


async def load(url: str, pid: int, sessions: int, seconds: float, interval: float) -> Result:
    result = Result(sessions, seconds)
    until = time.monotonic() + seconds
    cpu = cpu_seconds(pid)
    result.rss_mb_before = rss_mb(pid)
    await asyncio.gather(*(person(url, until, interval, result, i) for i in range(sessions)))
    result.cpu_seconds = cpu_seconds(pid) - cpu
    result.rss_mb_after = rss_mb(pid)
    return result


async def memory(url: str, pid: int, reruns: int) -> Result:
    """RSS before and after ``reruns`` reruns, one after another, from one session."""
    result = Result(1, 0.0)
    session = Session(url)
    await session.open()
    for _ in range(20):  # warm: caches filled, first allocations made
        await session.rerun("mine-50", "4 ★")
    result.rss_mb_before = rss_mb(pid)
    cpu, started = cpu_seconds(pid), time.monotonic()
    for i in range(reruns):
        result.latencies.append(await session.rerun(f"mine-{(50, 172, 181)[i % 3]}", STARS[i % 5]))
        result.reruns += 1
    result.seconds = round(time.monotonic() - started, 1)
    result.cpu_seconds = cpu_seconds(pid) - cpu
    result.rss_mb_after = rss_mb(pid)
    await session.close()
    return result


# --------------------------------------------------------------------------- main


def markdown(rows: list[dict], memory_row: dict | None) -> str:
    lines = [
        "| sessions | reruns | errors | p50 s | p95 s | server CPU ms / rerun |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['sessions']} | {row['reruns']} | {row['errors']} | {row['p50_s']} | "
            f"{row['p95_s']} | {row['server_cpu_ms_per_rerun']} |"
        )
    if memory_row:
        lines.append("")
        lines.append(
            f"Memory: {memory_row['reruns']} reruns in {memory_row['seconds']} s from one "
            f"session (p50 {memory_row['p50_s']} s, server CPU "
            f"{memory_row['server_cpu_ms_per_rerun']} ms / rerun): server RSS "
            f"{memory_row['rss_mb_before']} MB -> {memory_row['rss_mb_after']} MB "
            f"({memory_row['rss_mb_after'] - memory_row['rss_mb_before']:+.1f} MB)."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="5,10,30", help="session counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration per count")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between changes")
    parser.add_argument("--memory-reruns", type=int, default=1_000)
    parser.add_argument("--data-dir", default=str(ROOT / "data"), help="holds ml-100k.zip")
    parser.add_argument("--out", default=str(ROOT / "docs" / "load"))
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",") if n.strip()]
    if not counts or max(counts) > MAX_SESSIONS or min(counts) < 1:
        raise SystemExit(f"sessions must be from 1 to {MAX_SESSIONS}")
    if not 1 <= args.seconds <= 600 or not 0 <= args.memory_reruns <= 10_000:
        raise SystemExit("--seconds must be 1-600 and --memory-reruns 0-10000")

    with tempfile.TemporaryDirectory(prefix="reco-load-") as scratch:
        data = Path(scratch)
        source = Path(args.data_dir) / "ml-100k.zip"
        if not source.exists():
            raise SystemExit(f"{source} is missing: the load runs on ml-100k")
        shutil.copy(source, data / "ml-100k.zip")
        with serving(data, data / "streamlit.log") as (pid, address):
            url = address.replace("http://", "ws://") + "/_stcore/stream"
            asyncio.run(load(url, pid, 1, 5, args.interval))  # warm the process
            rows = []
            for count in counts:
                row = asyncio.run(load(url, pid, count, args.seconds, args.interval))
                rows.append(row.summary())
                print(json.dumps(rows[-1]), flush=True)
            memory_row = None
            if args.memory_reruns:
                memory_row = asyncio.run(memory(url, pid, args.memory_reruns)).summary()
                print(json.dumps(memory_row), flush=True)
    report = markdown(rows, memory_row)
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.md").write_text(report + "\n")
    (out / "load.json").write_text(
        json.dumps({"runs": rows, "memory": memory_row, "args": vars(args)}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
