"""Stand-ins for the ``aws-sdk-bedrock-runtime`` and smithy names pipecat's Nova Sonic
module imports, for Pythons where that SDK is not installed (it needs 3.12+ and awscrt).

With :func:`aws_eventstream.pipecat.install` the service no longer builds the SDK's
client: of these it uses the operation input (``model_id``), the input chunk and its
payload part (``value.bytes_``) and the output chunk it checks events against. The rest
are names the module mentions in annotations or in the ``create_client`` it no longer runs.
They are modules only while pipecat's loads (``aws_eventstream.pipecat._load_without_sdk``).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Dict, Generic, Optional, TypeVar

_I = TypeVar("_I")
_O = TypeVar("_O")
_R = TypeVar("_R")


@dataclass
class InvokeModelWithBidirectionalStreamOperationInput:
    model_id: Optional[str] = None


@dataclass
class BidirectionalInputPayloadPart:
    bytes_: Optional[bytes] = None


@dataclass
class BidirectionalOutputPayloadPart:
    bytes_: Optional[bytes] = None


@dataclass
class InvokeModelWithBidirectionalStreamInputChunk:
    value: BidirectionalInputPayloadPart


@dataclass
class InvokeModelWithBidirectionalStreamOutputChunk:
    value: BidirectionalOutputPayloadPart


class InvokeModelWithBidirectionalStreamInput:
    """The input union (only named in annotations)."""


class InvokeModelWithBidirectionalStreamOutput:
    """The output union (only named in annotations)."""


@dataclass
class InvokeModelWithBidirectionalStreamOperationOutput:
    pass


class DuplexEventStream(Generic[_I, _O, _R]):
    """Only named in annotations."""


class _Unusable:
    """What the service's own ``create_client`` would build: not without the SDK."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("aws-sdk-bedrock-runtime is not installed: with aws_eventstream.pipecat.install() "
                           "in effect, AWSNovaSonicLLMService.create_client() does not need it")


class BedrockRuntimeClient(_Unusable):
    pass


class Config(_Unusable):
    pass


class SigV4AuthScheme(_Unusable):
    pass


class StaticCredentialsResolver(_Unusable):
    pass


class ShapeID(_Unusable):
    pass


def _module(name: str, **names: Any) -> types.ModuleType:
    module = types.ModuleType(name, "A stand-in (aws_eventstream._sdk_standins): the SDK is not installed.")
    module.__dict__.update(names)
    return module


models = _module(
    "aws_sdk_bedrock_runtime.models",
    BidirectionalInputPayloadPart=BidirectionalInputPayloadPart,
    BidirectionalOutputPayloadPart=BidirectionalOutputPayloadPart,
    InvokeModelWithBidirectionalStreamInput=InvokeModelWithBidirectionalStreamInput,
    InvokeModelWithBidirectionalStreamInputChunk=InvokeModelWithBidirectionalStreamInputChunk,
    InvokeModelWithBidirectionalStreamOperationInput=InvokeModelWithBidirectionalStreamOperationInput,
    InvokeModelWithBidirectionalStreamOperationOutput=InvokeModelWithBidirectionalStreamOperationOutput,
    InvokeModelWithBidirectionalStreamOutput=InvokeModelWithBidirectionalStreamOutput,
    InvokeModelWithBidirectionalStreamOutputChunk=InvokeModelWithBidirectionalStreamOutputChunk,
)


def modules() -> Dict[str, types.ModuleType]:
    """The stand-in modules by name, packages included."""
    return {
        "aws_sdk_bedrock_runtime": _module("aws_sdk_bedrock_runtime"),
        "aws_sdk_bedrock_runtime.client": _module(
            "aws_sdk_bedrock_runtime.client", BedrockRuntimeClient=BedrockRuntimeClient,
            InvokeModelWithBidirectionalStreamOperationInput=InvokeModelWithBidirectionalStreamOperationInput),
        "aws_sdk_bedrock_runtime.config": _module("aws_sdk_bedrock_runtime.config", Config=Config),
        "aws_sdk_bedrock_runtime.models": models,
        "smithy_aws_core": _module("smithy_aws_core"),
        "smithy_aws_core.auth": _module("smithy_aws_core.auth"),
        "smithy_aws_core.auth.sigv4": _module("smithy_aws_core.auth.sigv4", SigV4AuthScheme=SigV4AuthScheme),
        "smithy_aws_core.identity": _module("smithy_aws_core.identity"),
        "smithy_aws_core.identity.static": _module("smithy_aws_core.identity.static",
                                                   StaticCredentialsResolver=StaticCredentialsResolver),
        "smithy_core": _module("smithy_core"),
        "smithy_core.aio": _module("smithy_core.aio"),
        "smithy_core.aio.eventstream": _module("smithy_core.aio.eventstream", DuplexEventStream=DuplexEventStream),
        "smithy_core.shapes": _module("smithy_core.shapes", ShapeID=ShapeID),
    }
