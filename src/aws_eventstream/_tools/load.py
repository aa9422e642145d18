"""Load bench: many concurrent Transcribe sessions against the fake server, on loopback.

The fake server runs in its own process (the other core); the clients share one asyncio
loop here. Each session sends one audio frame per ``ms`` at real time for a fixed number
of frames, then ends the stream. The server runs in echo mode, where each frame is heard
as one more word: it answers every frame with one partial result, in order, so the k-th
partial result of a session belongs to its k-th frame: that gives the frame-to-result
latency, and the frames that never got a result (lost).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from typing import Any, Dict, List, Optional

from ..auth import Credentials

_CREDS = ("AKIDLOADBENCH", "load-bench-secret")


def _serve(conn: Any) -> None:
    """Child process: run the fake server until told to stop, then report what it saw."""
    from ..testing import FakeTranscribeServer

    async def main() -> None:
        async with FakeTranscribeServer(credentials=Credentials(*_CREDS), echo=True, max_chunk=None,
                                        silence_events=None) as server:
            conn.send(server.endpoint)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            conn.send({"sessions": len(server.sessions),
                       "frames": sum(s.audio_frames for s in server.sessions),
                       "ended": sum(s.ended_cleanly for s in server.sessions),
                       "errors": [s.error for s in server.sessions if s.error]})

    asyncio.run(main())


async def _session(index: int, endpoint: str, *, sessions: int, frames: int, ms: float, frame_bytes: int,
                   ramp: float) -> Dict[str, Any]:
    from .. import transcribe

    await asyncio.sleep(ramp * index / max(sessions, 1))  # spread the connects over the ramp
    url = transcribe.presigned_url(region="us-east-1", credentials=Credentials(*_CREDS), language_code="en-US",
                                   endpoint=endpoint)
    audio = bytes(frame_bytes)
    sent_at: List[float] = []
    latencies: List[float] = []
    out: Dict[str, Any] = {"connected": False, "sent": 0, "results": 0, "error": None}
    try:
        session = await transcribe.TranscribeSession(url).connect()
    except Exception as exc:  # counted as a session not held
        out["error"] = f"connect: {exc!r}"
        return out
    out["connected"] = True
    loop = asyncio.get_running_loop()

    async def sender() -> None:
        due = loop.time()
        for _ in range(frames):
            sent_at.append(time.perf_counter())
            await session.send_audio(audio)
            due += ms / 1000.0
            await asyncio.sleep(max(0.0, due - loop.time()))
        await session.end()

    async def receiver() -> None:
        async for event in session:
            now = time.perf_counter()
            if not isinstance(event, transcribe.TranscriptEvent):
                continue
            for result in event.results:
                if result.is_partial:
                    latencies.append(now - sent_at[out["results"]])
                    out["results"] += 1

    try:
        await asyncio.gather(sender(), receiver())
    except Exception as exc:
        out["error"] = repr(exc)
    finally:
        await session.close()
    out["sent"] = len(sent_at)
    out["latencies"] = latencies
    return out


def _percentile(values: List[float], q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_load(*, sessions: int = 100, frames: int = 50, ms: float = 100.0, sample_rate: int = 16000,
             ramp: float = 2.0) -> Dict[str, Any]:
    """Run the load bench and return its figures (latencies in milliseconds)."""
    frame_bytes = int(sample_rate * 2 * ms / 1000)
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the fake server did not start")
        endpoint = parent.recv()

        async def clients() -> List[Dict[str, Any]]:
            return await asyncio.gather(*(
                _session(i, endpoint, sessions=sessions, frames=frames, ms=ms, frame_bytes=frame_bytes, ramp=ramp)
                for i in range(sessions)))

        started = time.perf_counter()
        results = asyncio.run(clients())
        elapsed = time.perf_counter() - started
        parent.send("stop")
        seen = parent.recv() if parent.poll(30) else {}
    finally:
        server.join(10)
        if server.is_alive():
            server.terminate()
    latencies = [x for r in results for x in r.get("latencies", [])]
    sent = sum(r["sent"] for r in results)
    held = sum(1 for r in results if r["connected"] and r["error"] is None and r["results"] == frames)
    return {
        "sessions": sessions, "frames_per_session": frames, "frame_ms": ms, "frame_bytes": frame_bytes,
        "sessions_held": held, "frames_sent": sent, "frames_lost": sent - len(latencies),
        "server_frames": seen.get("frames"), "server_sessions_ended": seen.get("ended"),
        "latency_ms": {
            "p50": _ms(_percentile(latencies, 0.50)), "p99": _ms(_percentile(latencies, 0.99)),
            "max": _ms(max(latencies) if latencies else None),
            "mean": _ms(statistics.fmean(latencies) if latencies else None),
        },
        "seconds": round(elapsed, 2),
        "errors": sorted({r["error"] for r in results if r["error"]})[:5],
    }


def _ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(seconds * 1000.0, 3)
