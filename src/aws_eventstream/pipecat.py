"""pipecat's AWS services on this package, in one line: ``aws_eventstream.pipecat.install()``.

* ``AWSTranscribeSTTService`` (``pipecat.services.aws.stt``) frames its audio, reads
  Transcribe's events and presigns its URL with ``build_event_message``, ``decode_event``
  and ``get_presigned_url``, imported from ``pipecat.services.aws.utils``. Installed, the
  service's module uses :mod:`aws_eventstream.utils`'s: the same bytes, checked CRCs,
  secrets kept out of ``repr``. Its credentials stay pipecat's (``resolve_credentials``
  leaves renewable credentials to botocore's session), as do every other service's.
* ``AWSNovaSonicLLMService`` (``pipecat.services.aws.nova_sonic.llm``) gets its client from
  ``create_client()``. Installed, that returns a client on this package's HTTP/2 transport
  (:class:`aws_eventstream.bedrock.BidirectionalStream`) in place of
  ``aws-sdk-bedrock-runtime``'s on awscrt; the service's events go out byte for byte as it
  wrote them and come back as the SDK's output chunks, so the frames out of the pipeline
  are the same. The service's static keys sign the stream; a service given empty keys uses
  :func:`aws_eventstream.auth.resolve_credentials` (environment, then botocore's chain).
  pipecat's module imports ``aws-sdk-bedrock-runtime`` (Python 3.12+) to load. Where the
  SDK is not installed (Python 3.10 and 3.11, or no awscrt wanted), :func:`install` loads
  that module with stand-ins for the few SDK classes it names (the operation's input and
  output chunks, the client and config it no longer builds), only while it loads: other
  code still finds no SDK. Import the service after :func:`install`, then.

:func:`uninstall` puts pipecat's own back; :func:`installed` does both around a block.
pipecat's internals change between releases, so :func:`install` refuses (with
:class:`PipecatVersionError`) any pipecat-ai release but those in :data:`TESTED`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from importlib import import_module
from importlib.util import find_spec
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import utils as _ours
from ._credentials import Credentials
from ._signedstream import credentials_for
from .bedrock import BedrockConnectionError, BedrockError, BedrockServiceError, BidirectionalStream

__all__ = ["install", "uninstall", "installed", "is_installed", "TESTED", "PipecatVersionError"]

# pipecat-ai releases (major, minor) install() was proven with, in a pipeline against
# aws_eventstream.testing's fake servers (tests/test_pipecat_nova_sonic.py, test_pipecat.py).
TESTED: Tuple[Tuple[int, int], ...] = ((1, 14),)

_STT = "pipecat.services.aws.stt"
_NOVA = "pipecat.services.aws.nova_sonic.llm"
# The functions pipecat's Transcribe STT service takes from its utils module for the
# stream itself, with the same signatures in aws_eventstream.utils.
_STT_NAMES = ("build_event_message", "decode_event", "get_presigned_url")
# pipecat's AWSNovaSonicLLMService reads its Bedrock request from these (pipecat 1.14).
_KEY_ATTRS = ("_access_key_id", "_secret_access_key", "_session_token", "_region")
# How long close() waits for the model's output to end, after the input ended, before it
# resets the stream (pipecat's own disconnect waits 1 s for its receive task too).
_CLOSE_GRACE = 1.0


class PipecatVersionError(RuntimeError):
    """The installed pipecat-ai is not a release :func:`install` was tested with."""


_lock = threading.Lock()
# (namespace, name, pipecat's object, ours), for uninstall to put back only what is still ours
_patched: List[Tuple[Any, str, Any, Any]] = []
_options: Dict[str, Any] = {}


def _pipecat_version() -> str:
    try:
        return version("pipecat-ai")
    except PackageNotFoundError:
        raise ImportError("aws_eventstream.pipecat needs pipecat-ai (pip install pipecat-ai)") from None


def _check_version(found: str) -> None:
    parts = found.split(".")
    try:
        release = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        release = (-1, -1)
    if release not in TESTED:
        tested = ", ".join(f"{major}.{minor}.*" for major, minor in TESTED)
        raise PipecatVersionError(
            f"aws_eventstream.pipecat was tested with pipecat-ai {tested}, and pipecat-ai {found} is installed: "
            f"its services' internals may differ, so nothing was installed. Install a tested pipecat-ai "
            f"(pip install 'pipecat-ai=={tested}') or an aws-eventstream release tested with {found}.")


def install(*, endpoint_url: Optional[str] = None, ssl: Any = None) -> None:
    """Put pipecat's AWS Transcribe STT and Nova Sonic services on this package.

    Args:
        endpoint_url: the Bedrock runtime endpoint for Nova Sonic (default: the region's,
            which pipecat's service also uses); for a VPC endpoint or a test server.
        ssl: an ``ssl.SSLContext`` for Nova Sonic's connections (default: the system's
            trust store), e.g. one trusting a test CA.

    Calling it again changes the options and keeps one installation.

    Raises:
        ImportError: pipecat-ai is not installed.
        PipecatVersionError: the installed pipecat-ai is not one of :data:`TESTED`.
    """
    _check_version(_pipecat_version())
    if endpoint_url is not None:  # the same checks the stream makes, before anything is patched
        BidirectionalStream("m", region="us-east-1", endpoint_url=endpoint_url)
    with _lock:
        _options.clear()
        _options.update(endpoint_url=endpoint_url, ssl=ssl)
        if _patched:
            return
        try:
            _install_stt()
            _install_nova_sonic()
        except BaseException:
            _restore()
            raise


def uninstall() -> None:
    """Put pipecat's own functions and client back (a no-op when nothing is installed)."""
    with _lock:
        _restore()
        _options.clear()


def is_installed() -> bool:
    """Whether :func:`install` is in effect."""
    return bool(_patched)


@contextlib.contextmanager
def installed(*, endpoint_url: Optional[str] = None, ssl: Any = None) -> Iterator[None]:
    """:func:`install` for the block; after it, what was before: uninstalled, or installed
    with the options it had. The installation is process-wide (pipecat's classes and
    modules), so it is the same for every thread and task."""
    with _lock:
        before = dict(_options) if _patched else None
    install(endpoint_url=endpoint_url, ssl=ssl)
    try:
        yield
    finally:
        if before is None:
            uninstall()
        else:
            install(**before)


def _set(namespace: Any, name: str, ours: Any) -> None:
    _patched.append((namespace, name, getattr(namespace, name), ours))
    setattr(namespace, name, ours)


def _restore() -> None:
    while _patched:
        namespace, name, original, ours = _patched.pop()
        if getattr(namespace, name, None) is ours:  # a patch laid over ours after install() stays
            setattr(namespace, name, original)


def _install_stt() -> None:
    try:
        module = import_module(_STT)
    except ImportError:  # the STT service needs websockets; without it there is nothing to put on us
        return
    for name in _STT_NAMES:
        _set(module, name, getattr(_ours, name))


def _install_nova_sonic() -> None:
    if _NOVA in sys.modules or find_spec("aws_sdk_bedrock_runtime") is not None:
        module = import_module(_NOVA)
    else:  # pipecat's module would fail to load (and log the error): load it with the stand-ins
        module = _load_without_sdk()
    _set(module.AWSNovaSonicLLMService, "create_client", _create_client)


def _create_client(service: Any) -> "NovaSonicClient":
    """``AWSNovaSonicLLMService.create_client`` once installed."""
    access_key, secret_key, token, region = (getattr(service, name) for name in _KEY_ATTRS)
    if bool(access_key) != bool(secret_key):
        raise ValueError("AWSNovaSonicLLMService needs both access_key_id and secret_access_key, or neither "
                         "(then the credential chain: environment, config files, instance role)")
    credentials = Credentials(access_key, secret_key, token or None) if access_key else None
    return NovaSonicClient(region, credentials, endpoint_url=_options.get("endpoint_url"), ssl=_options.get("ssl"))


class NovaSonicClient:
    """The client ``AWSNovaSonicLLMService.create_client()`` returns once installed: the one
    operation the service calls, opening a :class:`~aws_eventstream.bedrock.BidirectionalStream`."""

    def __init__(self, region: str, credentials: Optional[Credentials], *, endpoint_url: Optional[str] = None,
                 ssl: Any = None) -> None:
        self.region = region
        self._credentials = credentials
        self._endpoint_url = endpoint_url
        self._ssl = ssl

    def __repr__(self) -> str:
        return f"<NovaSonicClient region={self.region!r} endpoint_url={self._endpoint_url!r}>"

    async def invoke_model_with_bidirectional_stream(self, input: Any, plugins: Any = None) -> "DuplexStream":
        """Open the stream for ``input.model_id`` (the SDK's operation input) and send the request.

        As the SDK's, a connection that fails is not raised here: the stream comes back, and
        its output raises the error (the service reports it from its receive task)."""
        credentials = self._credentials
        if credentials is None:  # the chain may run a process or ask the instance: not on the loop
            credentials = await asyncio.to_thread(credentials_for, None, self.region, BedrockError)
        stream = BidirectionalStream(input.model_id, region=self.region, credentials=credentials,
                                     endpoint_url=self._endpoint_url, ssl=self._ssl, raw=True)
        try:
            await stream.connect()
        except BedrockConnectionError as exc:
            return DuplexStream(stream, failed=exc)
        return DuplexStream(stream)


def _sdk_models() -> Any:
    """The SDK's models: the output classes pipecat checks events against (``isinstance``),
    and the modeled exceptions; the stand-ins where the SDK is not installed."""
    if find_spec("aws_sdk_bedrock_runtime") is None:
        from . import _sdk_standins
        return _sdk_standins.models
    return import_module("aws_sdk_bedrock_runtime.models")


def _load_without_sdk() -> Any:
    """pipecat's Nova Sonic module, loaded with the SDK's names it imports stood in for,
    in ``sys.modules`` only while it loads."""
    from . import _sdk_standins

    modules = _sdk_standins.modules()
    # a package that is installed (smithy's, on a Python the SDK itself does not support) is used as it is
    missing = [name for name in modules if name not in sys.modules and find_spec(name.split(".")[0]) is None]
    sys.modules.update({name: modules[name] for name in missing})
    try:
        return import_module(_NOVA)
    finally:
        for name in missing:
            if sys.modules.get(name) is modules[name]:
                del sys.modules[name]


def _as_sdk_error(exc: BaseException, models: Any) -> BaseException:
    """A modeled exception as the SDK raises it (its class, its message as ``str``), so the
    service and the pipeline see what they saw before; anything else as it is."""
    if not isinstance(exc, BedrockServiceError):
        return exc
    cls = getattr(models, str(getattr(exc, "exception_type", "")), None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        return exc
    make: Any = cls  # smithy's exceptions are dataclasses with a message field
    try:
        error: BaseException = make(message=exc.message)
        return error
    except Exception:  # noqa: BLE001 - a model whose exception takes other arguments: ours, then
        return exc


class DuplexStream:
    """The SDK's duplex event stream as pipecat uses it, over a :class:`BidirectionalStream`:
    ``input_stream.send(chunk)``/``close()``, ``await_output()`` giving ``(output,
    output_stream)`` whose ``receive()`` gives each chunk (None at the end), and ``close()``.

    The connection is its own to close: at ``close()``; when the output ends or fails; and
    a bounded time after the input is closed alone (pipecat's session handoff closes only
    the old stream's input, and its receive task stops reading). Once the output has ended
    or failed, sends are dropped: the service has been told, by ``receive()``.
    """

    def __init__(self, stream: BidirectionalStream, *, failed: Optional[BaseException] = None) -> None:
        self.stream = stream
        self.input_stream = _InputStream(self)
        self._models = models = _sdk_models()
        self._chunk, self._part = models.InvokeModelWithBidirectionalStreamOutputChunk, \
            models.BidirectionalOutputPayloadPart
        self._output = (models.InvokeModelWithBidirectionalStreamOperationOutput(), _OutputStream(self))
        self._failed = failed  # the connection failed: the output raises it
        self._done = failed is not None  # the output ended or failed: nothing more to send or read
        self._refusal: Optional[BaseException] = None  # the service refused the request: close() raises it
        self._closer: Optional["asyncio.Task[None]"] = None

    async def await_output(self) -> Tuple[Any, "_OutputStream"]:
        return self._output

    async def close(self) -> None:
        """End the input (if it is not ended, briefly) and close the connection.

        Raises:
            the service's refusal of the request, as the SDK's ``close()`` does.
        """
        if self._closer is not None:
            self._closer.cancel()
        try:
            if not self._done and not self.input_stream.closed:
                await asyncio.wait_for(self.input_stream.close(), _CLOSE_GRACE)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing: what failed no longer matters
            pass
        finally:
            self._done = True
            await self.stream.abort()
        if self._refusal is not None:
            refusal, self._refusal = self._refusal, None
            raise refusal

    def _input_closed(self) -> None:
        """The input alone was closed: the connection goes a bounded time later, read or not."""
        if self._closer is None and not self._done:
            self._closer = asyncio.ensure_future(self._close_later())

    async def _close_later(self) -> None:
        try:
            await asyncio.sleep(_CLOSE_GRACE)
        finally:
            self._done = True
            await self.stream.abort()

    async def _finish(self) -> None:
        self._done = True
        await self.stream.abort()


class _InputStream:
    def __init__(self, duplex: DuplexStream) -> None:
        self._duplex = duplex
        self.closed = False

    async def send(self, event: Any) -> None:
        """Send the SDK's input chunk: its payload part's bytes, as they are."""
        if self._duplex._done:
            return
        await self._duplex.stream.send_bytes(event.value.bytes_)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self._duplex._done:
            try:
                await self._duplex.stream.end()
            finally:
                self._duplex._input_closed()


class _OutputStream:
    def __init__(self, duplex: DuplexStream) -> None:
        self._duplex = duplex

    async def receive(self) -> Any:
        """The next output chunk, or None once the model's output ended; its errors raise."""
        duplex = self._duplex
        if duplex._failed is not None:
            failed, duplex._failed = duplex._failed, None
            raise failed
        if duplex._done:
            return None
        try:
            data = await duplex.stream.__anext__()
        except StopAsyncIteration:
            await duplex._finish()
            return None
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await duplex._finish()
            error = _as_sdk_error(exc, duplex._models)
            if isinstance(exc, BedrockServiceError) and exc.status is not None:
                duplex._refusal = error  # refused before the stream: close() raises it too
            if error is exc:
                raise
            raise error from exc
        return duplex._chunk(value=duplex._part(bytes_=data))
