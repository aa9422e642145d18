"""An HTTP CONNECT proxy in front of the fake server, for clients that cannot be given an address.

A client that builds the service's real URL itself (pipecat's Transcribe service does)
reaches the fake through the standard ``HTTPS_PROXY`` setting: this proxy tunnels a
``CONNECT`` to the name the fake stands in for (``server_name``) to the fake's own
listeners, and refuses every other destination.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional, Tuple

_MAX_HEAD = 8192


class ConnectProxy:
    def __init__(self, routes: Dict[str, Tuple[str, int]]) -> None:
        self.routes = {k.lower(): v for k, v in routes.items()}  # "name:port" -> the listener
        self.server: Optional[asyncio.Server] = None
        self._tasks: "set[asyncio.Task[Any]]" = set()
        self._writers: "set[asyncio.StreamWriter]" = set()

    async def start(self, host: str) -> None:
        self.server = await asyncio.start_server(self._client, host, 0)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            # Closing the sockets ends each tunnel's task (a cancelled one would be reported
            # by asyncio's stream callback).
            for writer in list(self._writers):
                writer.close()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.server.wait_closed()
            self.server = None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the server is not started")
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        up_writer: Optional[asyncio.StreamWriter] = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            if len(head) > _MAX_HEAD:
                return
            request = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            target = self.routes.get(request[1].lower()) if len(request) == 3 and request[0] == "CONNECT" else None
            if target is None:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            up_reader, up_writer = await asyncio.open_connection(*target)
            self._writers.add(up_writer)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
            if up_writer is not None:
                up_writer.close()
                self._writers.discard(up_writer)
            if task is not None:
                self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            writer.close()
