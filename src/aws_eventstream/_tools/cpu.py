"""CPU per real-time stream: what one streaming client costs its process, against the fakes.

The fake Transcribe and fake Bedrock servers run in their own process (TLS with ALPN h2,
certificates from a throw-away CA). Each client runs alone in a fresh process: it connects,
streams 16 kHz 16-bit PCM in 100 ms chunks paced at real time for the stream's length,
reads every result, and closes; its process's CPU time (user + system, all threads,
``getrusage``) over that span is the figure, reported as CPU seconds per minute of
stream. Before it, each process streams 1 s unmeasured, so that interpreter start-up,
imports and what a process sets up once are not counted; each measured stream still
opens its own connection (TLS included). A client whose package is not
installed is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import resource
import ssl
import tempfile
import time
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Tuple

from ..auth import Credentials

_CREDS = ("AKIDCPUBENCH", "cpu-bench-secret")
CHUNK_SECONDS = 0.1
FULL_SECONDS, QUICK_SECONDS = 20.0, 3.0  # the stream's length in a full run and with --quick
WARM_SECONDS = 1.0  # the unmeasured stream each client process runs first
_NEEDS = ("trustme", "websockets", "h2")  # for the fake servers over TLS
_PCM = bytes(int(16000 * 2 * CHUNK_SECONDS))


async def _timed_echo(events: Any) -> Any:
    """A responder for the concurrency run: each 100 ms of audio in answered with 100 ms of
    24 kHz audio out, stamped with the moment the fake sends it."""
    out = base64.b64encode(bytes(int(24000 * 2 * CHUNK_SECONDS))).decode("ascii")
    async for event in events:
        if "audioInput" in event.get("event", {}):
            yield {"event": {"audioOutput": {"content": out, "sentAt": time.time()}}}


def _serve(conn: Any, workdir: str) -> None:
    """Child process: the fake Transcribe (WebSocket and HTTP/2) and Bedrock servers, over TLS."""
    import trustme

    from ..testing import FakeBedrockServer, FakeTranscribeServer, NovaSonic

    ca = trustme.CA()
    ca_file = os.path.join(workdir, "ca.pem")
    ca.cert_pem.write_to_path(ca_file)

    def context() -> ssl.SSLContext:
        made = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(made)
        return made

    async def main() -> None:
        words = " ".join(f"word{i}." for i in range(400))
        creds = Credentials(*_CREDS)
        async with FakeTranscribeServer(credentials=creds, http2=True, ssl_context=context(), transcript=words,
                                        max_chunk=None) as transcribe, \
                FakeBedrockServer(credentials=creds, ssl_context=context(),
                                  responder=NovaSonic(turn_seconds=2.0)) as bedrock, \
                FakeBedrockServer(credentials=creds, ssl_context=context(), responder=_timed_echo) as echo:
            conn.send({"ca": ca_file, "wss": transcribe.endpoint, "h2": transcribe.http2_endpoint,
                       "bedrock": bedrock.endpoint, "echo": echo.endpoint})
            before = _cpu()
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            conn.send(_cpu() - before)  # what serving cost, for the record

    asyncio.run(main())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _paced(seconds: float, send: Callable[[bytes], Any]) -> None:
    """Send ``seconds`` of PCM in 100 ms chunks, each when real time reaches it."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(int(round(seconds / CHUNK_SECONDS))):
        delay = start + i * CHUNK_SECONDS - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(_PCM)


def _client_context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.load_verify_locations(ca_file)
    return context


async def _pacing_only(ends: Dict[str, str], seconds: float) -> int:
    """No client: what the paced loop itself costs (every row includes it), to read the rows against."""
    async def nothing(pcm: bytes) -> None:
        return None
    await _paced(seconds, nothing)
    return 0


async def _ours_websocket(ends: Dict[str, str], seconds: float) -> int:
    from .. import transcribe as t

    url = t.presigned_url(region="us-east-1", credentials=Credentials(*_CREDS), language_code="en-US",
                          sample_rate=16000, endpoint=ends["wss"])
    results = 0
    async with t.TranscribeSession(url) as session:  # trusts the test CA through SSL_CERT_FILE
        async def read() -> None:
            nonlocal results
            async for _ in session:
                results += 1
        reader = asyncio.ensure_future(read())
        await _paced(seconds, session.send_audio)
        await session.end()
        await reader
    return results


async def _ours_http2(ends: Dict[str, str], seconds: float) -> int:
    from .. import transcribe as t

    results = 0
    async with t.start_stream_transcription(region="us-east-1", credentials=Credentials(*_CREDS),
                                            endpoint_url=ends["h2"], ssl=_client_context(ends["ca"]),
                                            language_code="en-US", sample_rate=16000) as session:
        async def read() -> None:
            nonlocal results
            async for _ in session:
                results += 1
        reader = asyncio.ensure_future(read())
        await _paced(seconds, session.send_audio)
        await session.end()
        await reader
    return results


def _nova_events(pcm: bytes) -> Dict[str, Any]:
    return {"event": {"audioInput": {"promptName": "p", "contentName": "a",
                                     "content": base64.b64encode(pcm).decode("ascii")}}}


_NOVA_OPENING = [{"event": {"sessionStart": {"inferenceConfiguration": {"maxTokens": 1024}}}},
                 {"event": {"promptStart": {"promptName": "p", "audioOutputConfiguration": {"sampleRateHertz": 24000}}}},
                 {"event": {"contentStart": {"promptName": "p", "contentName": "a", "type": "AUDIO", "role": "USER",
                                             "audioInputConfiguration": {"sampleRateHertz": 16000}}}}]
_NOVA_CLOSING = [{"event": {"contentEnd": {"promptName": "p", "contentName": "a"}}},
                 {"event": {"promptEnd": {"promptName": "p"}}}, {"event": {"sessionEnd": {}}}]


async def _ours_bedrock(ends: Dict[str, str], seconds: float) -> int:
    from .. import bedrock

    results = 0
    async with bedrock.BidirectionalStream("amazon.nova-sonic-v1:0", region="us-east-1",
                                           credentials=Credentials(*_CREDS), endpoint_url=ends["bedrock"],
                                           ssl=_client_context(ends["ca"])) as stream:
        for event in _NOVA_OPENING:
            await stream.send(event)

        async def read() -> None:
            nonlocal results
            async for event in stream:
                audio = event.get("event", {}).get("audioOutput")
                if audio is not None:
                    base64.b64decode(audio["content"])  # what an application does with it
                results += 1
        reader = asyncio.ensure_future(read())
        await _paced(seconds, lambda pcm: stream.send(_nova_events(pcm)))
        for event in _NOVA_CLOSING:
            await stream.send(event)
        await stream.end()
        await reader
    return results


async def _amazon_transcribe(ends: Dict[str, str], seconds: float) -> int:
    from amazon_transcribe.auth import StaticCredentialResolver
    from amazon_transcribe.client import TranscribeStreamingClient
    from amazon_transcribe.endpoints import StaticEndpointResolver
    from amazon_transcribe.handlers import TranscriptResultStreamHandler
    from awscrt import io

    client = TranscribeStreamingClient(region="us-east-1", endpoint_resolver=StaticEndpointResolver(ends["h2"]),
                                       credential_resolver=StaticCredentialResolver(*_CREDS))
    options = io.TlsContextOptions()
    options.override_default_trust_store_from_path(ca_filepath=ends["ca"])
    client._session_manager._tls_ctx = io.ClientTlsContext(options)
    stream = await client.start_stream_transcription(language_code="en-US", media_sample_rate_hz=16000,
                                                     media_encoding="pcm")
    results = 0

    class Handler(TranscriptResultStreamHandler):  # type: ignore[misc]
        async def handle_transcript_event(self, event: Any) -> None:
            nonlocal results
            results += 1

    async def send() -> None:
        await _paced(seconds, lambda pcm: stream.input_stream.send_audio_event(audio_chunk=pcm))
        await stream.input_stream.end_stream()

    await asyncio.gather(send(), Handler(stream.output_stream).handle_events())
    return results


async def _sdk_bedrock(ends: Dict[str, str], seconds: float) -> int:
    """aws-sdk-bedrock-runtime (smithy-python, Python 3.12+) on its awscrt transport."""
    from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
    from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
    from aws_sdk_bedrock_runtime.models import (BidirectionalInputPayloadPart,
                                                InvokeModelWithBidirectionalStreamInputChunk,
                                                InvokeModelWithBidirectionalStreamOperationInput)

    client = AsyncBedrockRuntimeClient(config=await _smithy_config(AsyncBedrockRuntimeConfig, ends["bedrock"]))
    stream = await client.invoke_model_with_bidirectional_stream(
        InvokeModelWithBidirectionalStreamOperationInput(model_id="amazon.nova-sonic-v1:0"), [_trusting(ends["ca"])])

    async def send(event: Any) -> None:
        await stream.input_stream.send(InvokeModelWithBidirectionalStreamInputChunk(
            value=BidirectionalInputPayloadPart(bytes_=json.dumps(event).encode())))

    results = 0

    async def read() -> None:
        nonlocal results
        async for item in _smithy_outputs(stream):
            event = json.loads(item.value.bytes_)
            audio = event.get("event", {}).get("audioOutput")
            if audio is not None:
                base64.b64decode(audio["content"])
            results += 1

    for event in _NOVA_OPENING:
        await send(event)
    reader = asyncio.ensure_future(read())
    await _paced(seconds, lambda pcm: send(_nova_events(pcm)))
    for event in _NOVA_CLOSING:
        await send(event)
    await stream.input_stream.close()
    await reader
    return results


async def _sdk_transcribe(ends: Dict[str, str], seconds: float) -> int:
    """aws-sdk-transcribe-streaming (smithy-python, Python 3.12+) on its awscrt transport."""
    from aws_sdk_transcribe_streaming.client import AsyncTranscribeStreamingClient
    from aws_sdk_transcribe_streaming.config import AsyncTranscribeStreamingConfig
    from aws_sdk_transcribe_streaming.models import (AudioEvent, AudioStreamAudioEvent, StartStreamTranscriptionInput,
                                                     TranscriptResultStreamTranscriptEvent)

    client = AsyncTranscribeStreamingClient(config=await _smithy_config(AsyncTranscribeStreamingConfig, ends["h2"]))
    stream = await client.start_stream_transcription(
        StartStreamTranscriptionInput(language_code="en-US", media_sample_rate_hertz=16000, media_encoding="pcm"),
        [_trusting(ends["ca"])])
    results = 0

    async def read() -> None:
        nonlocal results
        async for item in _smithy_outputs(stream):
            if isinstance(item, TranscriptResultStreamTranscriptEvent):
                results += 1

    reader = asyncio.ensure_future(read())
    await _paced(seconds, lambda pcm: stream.input_stream.send(AudioStreamAudioEvent(value=AudioEvent(audio_chunk=pcm))))
    await stream.input_stream.close()
    await reader
    return results


async def _smithy_outputs(stream: Any) -> AsyncIterator[Any]:
    """The events of a smithy SDK's duplex stream, to its end."""
    _, output = await stream.await_output()
    while True:
        item = await output.receive()
        if item is None:
            return
        yield item


async def _smithy_config(config_class: Any, endpoint: str) -> Any:
    """A smithy SDK's config: the fake's endpoint, the bench's static credentials."""
    from smithy_aws_core.identity.components import AWSCredentialsIdentity
    from smithy_aws_core.identity.static import StaticCredentialsResolver

    identity = AWSCredentialsIdentity(access_key_id=_CREDS[0], secret_access_key=_CREDS[1])
    return await config_class.resolve(endpoint_uri=endpoint, region="us-east-1",
                                      aws_credentials_identity_resolver=StaticCredentialsResolver(identity))


def _trusting(ca_file: str) -> Callable[[Any], None]:
    """A smithy SDK plugin: an awscrt transport whose TLS trusts ``ca_file``. The clients
    deep-copy their config for each operation, and a copied transport trusts only the
    system's CAs, so this goes in as an operation plugin, after the copy."""
    from awscrt import io
    from smithy_http.aio.crt import AWSCRTHTTPClient

    def plugin(config: Any) -> None:
        transport = AWSCRTHTTPClient()
        options = io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=ca_file)
        transport._tls_ctx = io.ClientTlsContext(options)
        config.transport = transport
    return plugin


PACING = "no client: the 100 ms pacing loop alone"
#: name -> (the module it needs, the client)
CLIENTS: Dict[str, Tuple[Optional[str], Callable[[Dict[str, str], float], Any]]] = {
    PACING: (None, _pacing_only),
    "aws-eventstream Transcribe, WebSocket": ("websockets", _ours_websocket),
    "aws-eventstream Transcribe, HTTP/2": ("h2", _ours_http2),
    "aws-eventstream Bedrock Nova Sonic-like, HTTP/2": ("h2", _ours_bedrock),
    "amazon-transcribe (awscrt HTTP/2)": ("amazon_transcribe", _amazon_transcribe),
    "aws-sdk-transcribe-streaming (awscrt HTTP/2)": ("aws_sdk_transcribe_streaming", _sdk_transcribe),
    "aws-sdk-bedrock-runtime Nova Sonic-like (awscrt HTTP/2)": ("aws_sdk_bedrock_runtime", _sdk_bedrock),
}


def _client(conn: Any, name: str, ends: Dict[str, str], seconds: float) -> None:
    """Child process: one stream; sends (CPU seconds, wall seconds, results) or an error."""
    os.environ["SSL_CERT_FILE"] = ends["ca"]  # for the clients that take no SSL context
    # What a peer prints on its way (aiohttp's "Unclosed client session" from the smithy
    # SDKs' unused default transport) is not the bench's output; a failure comes back as text.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    try:
        # A first, unmeasured 1 s stream: the imports and whatever a process sets up once
        # (a voice agent streams for hours) are not what one stream costs.
        asyncio.run(CLIENTS[name][1](ends, min(WARM_SECONDS, seconds)))
        before, started = _cpu(), time.perf_counter()
        results = asyncio.run(CLIENTS[name][1](ends, seconds))
        conn.send((_cpu() - before, time.perf_counter() - started, results))
    except Exception as exc:  # reported in the table, not a traceback
        conn.send(f"{type(exc).__name__}: {exc}")


def measure(seconds: float = 10.0, names: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """Each client's CPU per real-time stream of ``seconds``: rows of name, cpu_per_minute,
    cpu_seconds, wall_seconds, results, skipped."""
    import importlib.util

    missing = [m for m in _NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        return [{"name": name, "cpu_per_minute": None, "cpu_seconds": None, "wall_seconds": None, "results": None,
                 "skipped": f"the fake servers need {', '.join(missing)} (the bench extra has them)"}
                for name in names or list(CLIENTS)]
    context = multiprocessing.get_context("spawn")
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as workdir:
        here, there = context.Pipe()
        server = context.Process(target=_serve, args=(there, workdir), daemon=True)
        server.start()
        try:
            ends = here.recv()
            for name in names or list(CLIENTS):
                needs = CLIENTS[name][0]
                row: Dict[str, Any] = {"name": name, "cpu_per_minute": None, "cpu_seconds": None,
                                       "wall_seconds": None, "results": None, "skipped": None}
                rows.append(row)
                if needs is not None and importlib.util.find_spec(needs) is None:
                    row["skipped"] = f"{needs} is not installed"
                    continue
                mine, theirs = context.Pipe()
                child = context.Process(target=_client, args=(theirs, name, ends, seconds), daemon=True)
                child.start()
                outcome = mine.recv() if mine.poll(seconds * 3 + 60) else "TimeoutError: the stream did not end"
                child.join(10)
                if isinstance(outcome, str):
                    row["skipped"] = outcome
                    continue
                cpu, wall, results = outcome
                row.update(cpu_seconds=round(cpu, 3), wall_seconds=round(wall, 2), results=results,
                           cpu_per_minute=round(cpu * 60.0 / seconds, 3))
        finally:
            here.send("stop")
            if here.poll(10):
                here.recv()
            server.join(10)
            if server.is_alive():
                server.terminate()
    return rows


async def _many(ends: Dict[str, str], streams: int, seconds: float) -> Dict[str, Any]:
    """``streams`` Nova Sonic-like streams at once in this process, each its own connection,
    started over the first second; the delay of each output event from the fake's send."""
    from .. import bedrock

    delays: List[float] = []
    steady: List[float] = []  # the delays of the events after the last stream opened
    opened = [0]
    expected = streams * int(round(seconds / CHUNK_SECONDS))
    context = _client_context(ends["ca"])

    async def one(index: int) -> None:
        await asyncio.sleep(index / streams)  # spread the starts: streams are not in lockstep
        async with bedrock.BidirectionalStream("amazon.nova-sonic-v1:0", region="us-east-1",
                                               credentials=Credentials(*_CREDS), endpoint_url=ends["echo"],
                                               ssl=context) as stream:
            for event in _NOVA_OPENING:
                await stream.send(event)
            opened[0] += 1

            async def read() -> None:
                async for event in stream:
                    audio = event.get("event", {}).get("audioOutput")
                    if audio is not None:
                        delay = time.time() - audio["sentAt"]
                        delays.append(delay)
                        if opened[0] == streams:
                            steady.append(delay)
                        base64.b64decode(audio["content"])
            reader = asyncio.ensure_future(read())
            await _paced(seconds, lambda pcm: stream.send(_nova_events(pcm)))
            await stream.end()
            await reader

    rss_before = _rss()
    cpu_before, started = _cpu(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(streams)))
    cpu, wall = _cpu() - cpu_before, time.perf_counter() - started
    delays.sort()
    steady.sort()

    def pick(q: float, values: List[float] = delays) -> Optional[float]:
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1) if values else None
    return {"streams": streams, "seconds": seconds, "events": len(delays), "expected": expected,
            "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": pick(1.0),
            # once every stream is open: the TLS handshakes of the first second are behind
            "steady_events": len(steady), "steady_p99_ms": pick(0.99, steady),
            "cpu_share": round(cpu / wall, 3), "rss_per_stream_kib": round((_rss() - rss_before) / streams, 1)}


def _rss() -> int:
    """This process's resident memory, in KiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _many_child(conn: Any, ends: Dict[str, str], streams: int, seconds: float) -> None:
    try:
        conn.send(asyncio.run(_many(ends, streams, seconds)))
    except Exception as exc:  # reported, not a traceback
        conn.send(f"{type(exc).__name__}: {exc}")


def concurrency(streams: int = 200, seconds: float = 10.0) -> Dict[str, Any]:
    """``streams`` concurrent Nova Sonic-like streams (16 kHz in, 24 kHz out, 100 ms events
    both ways) in one client process, the fake in another: delay of the output events
    (p50, p99, max, ms), the client's share of a core, its memory per stream; or
    ``{"skipped": reason}``."""
    import importlib.util

    missing = [m for m in _NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        return {"skipped": f"the fake servers need {', '.join(missing)} (the bench extra has them)"}
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as workdir:
        here, there = context.Pipe()
        server = context.Process(target=_serve, args=(there, workdir), daemon=True)
        server.start()
        try:
            ends = here.recv()
            mine, theirs = context.Pipe()
            child = context.Process(target=_many_child, args=(theirs, ends, streams, seconds), daemon=True)
            child.start()
            outcome = mine.recv() if mine.poll(seconds * 3 + 120) else "TimeoutError: the streams did not end"
            child.join(10)
        finally:
            here.send("stop")
            served = here.recv() if here.poll(10) else None
            server.join(10)
            if server.is_alive():
                server.terminate()
    if isinstance(outcome, str):
        return {"skipped": outcome}
    result = dict(outcome)
    if served is not None:  # the fake's CPU over the whole run: near a whole core, it is what holds events back
        result["server_cpu_share"] = round(served / max(result["seconds"] + 1.0, 1.0), 2)
    return result


def concurrency_line(result: Dict[str, Any]) -> str:
    if "skipped" in result:
        return f"Concurrent Nova Sonic-like streams in one process: skipped ({result['skipped']})"
    return (f"{result['streams']} concurrent Nova Sonic-like streams in one process ({result['seconds']:g} s, 100 ms "
            f"events both ways): output delay p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max "
            f"{result['max_ms']} ms (p99 once all were open: {result.get('steady_p99_ms')} ms); "
            f"{result['events']} of {result['expected']} events; client CPU "
            f"{result['cpu_share']:.0%} of a core; {result['rss_per_stream_kib']:.0f} KiB per stream"
            + (f"; the fake server's CPU about {result['server_cpu_share']:.0%} of a core"
               if "server_cpu_share" in result else ""))


def table(rows: List[Dict[str, Any]], seconds: float, markdown: bool = False) -> str:
    """The rows as a table, each with its ratio against our WebSocket session (text: 100 columns)."""
    from .report import wrap

    base = next((r["cpu_per_minute"] for r in rows if r["name"].endswith("WebSocket") and r["cpu_per_minute"]), None)
    head = ("client", "CPU s per minute of stream", "share of a core", "vs our WebSocket", "results")
    lines = []
    for r in rows:
        if r["cpu_per_minute"] is None:
            lines.append((r["name"], "skipped", r["skipped"], "", ""))
            continue
        share = f"{r['cpu_per_minute'] / 60:.1%}"
        ratio = f"{r['cpu_per_minute'] / base:.2f}x" if base else ""
        lines.append((r["name"], f"{r['cpu_per_minute']:.3f}", share, ratio, str(r["results"])))
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    text = [wrap(f"CPU per real-time stream ({seconds:g} s of 16 kHz audio in 100 ms chunks, each client "
                 "alone in its process, the fakes in another; CPU seconds per minute of stream):"), "",
            f"{'client':<55}  {'CPU s/min':>9}  {'of a core':>9}  {'vs WS':>7}  {'results':>7}"]
    text.append("-" * len(text[-1]))
    for name, cpu, share, ratio, results in lines:
        if cpu == "skipped":
            text.append(name)
            text.append(wrap(f"skipped: {share}", "    "))
            continue
        if len(name) > 55:
            text.append(name)
            name = ""
        text.append(f"{name:<55}  {cpu:>9}  {share:>9}  {ratio:>7}  {results:>7}")
    text += ["", "vs WS: against our WebSocket Transcribe session. Each client first streams 1 s "
             "unmeasured: imports and set-up are not counted."]
    return "\n".join(line if len(line) <= 100 else wrap(line) for line in text)


if __name__ == "__main__":  # pragma: no cover - python -m aws_eventstream._tools.cpu [seconds]
    import sys

    span = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(table(measure(span), span))
    print(concurrency_line(concurrency(int(sys.argv[2]) if len(sys.argv) > 2 else 200, span)))
