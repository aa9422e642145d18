"""Bench results as data: the versioned JSON document, reading it back, and comparing two.

The document (``FORMAT``, version ``VERSION``)::

    {"format": "aws-eventstream-bench", "version": 2, "created": "2026-11-24T10:00:00+00:00",
     "settings": {"quick": false, "rounds": 15, "sample_seconds": 0.025, "cases": null,
                  "coverage": 0.9648},
     "machine": {"system": "Linux", "arch": "x86_64", "cpu": "AMD EPYC ...", "logical_cpus": 2,
                 "cpu_flags": {"pclmulqdq": true, "avx2": true, "avx512f": true, "vpclmulqdq": true,
                               "pmull": false, "crc32": false},
                 "load_average": [0.1, 0.2, 0.3]},
     "python": {"version": "3.11.7", "implementation": "CPython"},
     "packages": {"aws-eventstream": "0.1.0", "botocore": "1.43.117", ...},
     "aws_eventstream": {"backend": "cython", "crc_kernel": "vpclmul512", "crc_kernels": [...]},
     "results": [{"case": "crc32 64 B", "group": "crc32", "bytes": 64,
                  "implementation": "isal", "ours": false, "reference": false, "partial": false,
                  "skipped": null,
                  "loops": 120000, "samples": [6.9e-08, ...],
                  "median": 6.9e-08, "min": 6.8e-08, "max": 7.1e-08, "spread": 0.04,
                  "throughput": 9.2e+08,
                  "speedup": {"isal": {"median": 0.94, "min": 0.9, "max": 0.97}}}, ...],
     "streams_per_core": {"aws-eventstream (cython, vpclmul512)": {"20 ms frames ...": 4100.0}},
     "warnings": ["..."]}

``samples`` are seconds per call, one per round; ``median`` is theirs, and ``min`` and
``max`` the range reported for it (``bench.interval``: a distribution-free confidence
interval for the median, of ``settings.coverage`` probability: 96.5% for the 15 rounds of
a full run, dropping the three slowest and three fastest rounds; 75% for the 3 of
``--quick``); ``speedup`` (our rows only) is each peer's time over ours, per round, with
its median and range the same way. Version 1 (one ``seconds`` figure per row, no samples) is
read too; its figures have no range.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from .. import BACKEND, CRC_KERNEL, __version__, crc_kernels
from .bench import Row, coverage, ratios, streams_per_core

FORMAT = "aws-eventstream-bench"
VERSION = 2
NOISY = 0.10  # a spread over 10% of the median: the figure is flagged
PACKAGES = ("aws-eventstream", "botocore", "boto3", "aiobotocore", "pipecat-ai", "amazon-transcribe", "isal",
            "zlib-ng", "crcmod", "smithy-aws-event-stream", "websockets", "Cython", "matplotlib")
_X86_FLAGS = ("pclmulqdq", "avx2", "avx512f", "vpclmulqdq")
_ARM_FLAGS = ("pmull", "crc32", "sha3")


class ResultsError(ValueError):
    """A results file that is not one this version of the tool can read."""


# --------------------------------------------------------------------------- the machine


def _cpuinfo() -> Tuple[Optional[str], Dict[str, bool]]:
    """CPU model and the flags that matter to the CRC kernels, from /proc/cpuinfo or sysctl."""
    model: Optional[str] = None
    flags: Dict[str, bool] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    if text:
        found = re.search(r"^(?:model name|Hardware|CPU part)\s*:\s*(.+)$", text, re.M)
        model = found.group(1).strip() if found else None
        listed = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", text, re.M)
        have = set(listed.group(1).split()) if listed else set()
        names = _X86_FLAGS if platform.machine().lower() in ("x86_64", "amd64", "i686", "i386") else _ARM_FLAGS
        flags = {name: name in have for name in names}
    elif platform.system() == "Darwin":
        import subprocess

        try:
            model = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                   text=True, timeout=5).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            model = None
    return model or platform.processor() or None, flags


def machine() -> Dict[str, Any]:
    model, flags = _cpuinfo()
    try:
        load: Optional[List[float]] = [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):  # Windows has no load average
        load = None
    return {"system": platform.system(), "arch": platform.machine(), "cpu": model,
            "logical_cpus": os.cpu_count(), "cpu_flags": flags, "load_average": load}


def packages() -> Dict[str, Optional[str]]:
    from importlib import metadata

    out: Dict[str, Optional[str]] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    out.setdefault("aws-eventstream", __version__)
    return out


# --------------------------------------------------------------------------- the document


def warnings_for(rows: Sequence[Row], load: Optional[List[float]], cpus: Optional[int]) -> List[str]:
    """What makes the figures less certain, and what to do about it."""
    out = []
    noisy = [f"{r.case.name} | {r.impl.name} ({r.spread:.0%})" for r in rows
             if r.spread is not None and r.spread > NOISY]
    if noisy:
        out.append(f"{len(noisy)} figure(s) varied by more than {NOISY:.0%} between rounds: "
                   + "; ".join(noisy[:6]) + ("; ..." if len(noisy) > 6 else ""))
    if load is not None and cpus and load[0] > 0.5 * cpus:
        out.append(f"the machine was busy before the run (load average {load[0]:g} on {cpus} CPUs)")
    if out:
        out.append("for steadier figures: close other programs, give more --rounds, pin the run to one CPU "
                   "(taskset -c 1 aws-eventstream bench), or tune the machine (python -m pyperf system tune)")
    return out


def document(rows: Sequence[Row], *, quick: bool, rounds: int, sample_seconds: float,
             cases: Optional[List[str]], info: Dict[str, Any]) -> Dict[str, Any]:
    """The JSON document of a run (see the module docstring); ``info`` is :func:`machine`
    as it was before the run (its load average, before the run's own load)."""
    speedups = ratios(list(rows))
    return {
        "format": FORMAT, "version": VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": {"quick": quick, "rounds": rounds, "sample_seconds": sample_seconds, "cases": cases,
                     "coverage": round(coverage(rounds), 4)},
        "machine": info,
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "packages": packages(),
        "aws_eventstream": {"version": __version__, "backend": BACKEND, "crc_kernel": CRC_KERNEL,
                            "crc_kernels": list(crc_kernels())},
        "results": [{
            "case": r.case.name, "group": r.case.group, "bytes": r.case.size,
            "implementation": r.impl.name, "ours": r.impl.ours, "reference": r.impl.reference,
            "partial": r.impl.partial,
            "skipped": r.skipped, "loops": r.loops, "samples": r.samples,
            "median": r.seconds, "min": r.low, "max": r.high, "spread": r.spread, "throughput": r.throughput,
            "speedup": {name: {"median": q.median, "min": q.low, "max": q.high}
                        for name, q in speedups.get(i, {}).items()},
        } for i, r in enumerate(rows)],
        "streams_per_core": streams_per_core(list(rows)),
        "warnings": warnings_for(rows, info["load_average"], info["logical_cpus"]),
    }


@dataclass(frozen=True)
class Figure:
    """One row read back from a results document; for our rows, also the speed-up against
    each peer of the case (median, low, high) measured in the same rounds."""

    case: str
    implementation: str
    ours: bool
    median: float
    low: float
    high: float
    speedups: Tuple[Tuple[str, Tuple[float, float, float]], ...] = ()
    peers: Tuple[str, ...] = ()  # the case's full competitors (no references, no partial ones)


def read(doc: Any) -> Dict[Tuple[str, str], Figure]:
    """The measured rows of a results document, by (case, implementation)."""
    if not isinstance(doc, dict) or doc.get("format", FORMAT) != FORMAT or "results" not in doc:
        raise ResultsError("it is not an aws-eventstream bench --json document")
    version = doc.get("version", 1)
    if type(version) is not int or version not in (1, VERSION):
        raise ResultsError(f"it is format version {version!r}; this tool reads versions 1 and {VERSION}")
    settings = doc.get("settings")
    cover = settings.get("coverage") if isinstance(settings, dict) else None
    if cover is not None and not (type(cover) in (int, float) and 0 <= cover <= 1):
        raise ResultsError("its settings.coverage is not a probability (a number from 0 to 1)")
    out: Dict[Tuple[str, str], Figure] = {}
    try:
        peers: Dict[str, List[str]] = {}
        for item in doc["results"]:
            if not (item.get("ours") or item.get("reference") or item.get("partial") or item.get("skipped")):
                peers.setdefault(str(item["case"]), []).append(str(item["implementation"]))
        for item in doc["results"]:
            case, name = str(item["case"]), str(item["implementation"])
            if version == 1:
                seconds = item.get("seconds")
                low = high = seconds
                speedups: Tuple[Tuple[str, Tuple[float, float, float]], ...] = ()
            else:
                seconds, low, high = item.get("median"), item.get("min"), item.get("max")
                speedups = tuple((str(k), (float(v["median"]), float(v["min"]), float(v["max"])))
                                 for k, v in (item.get("speedup") or {}).items())
            if seconds is None or item.get("skipped"):
                continue
            _figure(seconds, low, high)
            for _, triple in speedups:
                _figure(*triple)
            # The extension's label names its CRC kernel; runs on other kernels are compared.
            key = (case, re.sub(r"^aws-eventstream \(cython, [^)]*\)", "aws-eventstream (cython)", name))
            out[key] = Figure(case, name, bool(item.get("ours")), float(seconds), float(low), float(high),
                              speedups, tuple(peers.get(case, ())))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise ResultsError("it has a malformed result (each median and range must be numbers "
                           "with 0 < min <= median <= max)") from None
    return out


def _figure(median: Any, low: Any, high: Any) -> None:
    """A median and its range: finite, positive, in order (ValueError if not)."""
    values = [float(v) for v in (median, low, high)]
    if not all(math.isfinite(v) and v > 0 for v in values) or not values[1] <= values[0] <= values[2]:
        raise ValueError("not a median within its range")


def caveats(old: Any, new: Any) -> List[str]:
    """What makes a comparison of two documents less certain: thin ranges, other packages,
    other settings."""
    out = []
    for name, doc in (("the old run", old), ("the new run", new)):
        settings = doc.get("settings") if isinstance(doc, dict) else None
        cover = settings.get("coverage") if isinstance(settings, dict) else None
        if not isinstance(cover, (int, float)) or cover < 0.95:
            shown = f"only {cover:.0%}" if isinstance(cover, (int, float)) else "no stated probability"
            out.append(f"{name}'s ranges hold the median with {shown}: with few rounds (--quick, a low --rounds) "
                       "a change may look larger or smaller than the noise than it is")
    packs: List[Dict[str, Any]] = []
    for doc in (old, new):
        found = doc.get("packages") if isinstance(doc, dict) else None
        packs.append(found if isinstance(found, dict) else {})
    moved = [f"{k} {packs[0][k]} -> {packs[1][k]}" for k in sorted(set(packs[0]) & set(packs[1]))
             if packs[0][k] != packs[1][k]]
    if moved:
        out.append("the runs used other package versions (" + ", ".join(moved) + "): a peer's own change moves "
                   "our ratio against it")
    quick = []
    for doc in (old, new):
        settings = doc.get("settings") if isinstance(doc, dict) else None
        quick.append(settings.get("quick") if isinstance(settings, dict) else None)
    if None not in quick and quick[0] != quick[1]:
        out.append("one run was --quick and the other was not: their figures come from other loop lengths")
    return out


# --------------------------------------------------------------------------- comparing two runs


@dataclass(frozen=True)
class Change:
    """A row measured in both runs.

    Our rows are compared by their speed-up against the fastest peer of the case that
    both runs measured: each run times ours and the peer in the same rounds, so a machine
    that is slower as a whole in one run (another tenant, a cooler CPU) moves both and
    leaves the ratio, and a change of ours is seen against a yardstick that did not
    change. Other rows, and ours without a peer, are compared by their times.
    ``change`` is the relative slow-down: +0.1 means 10% slower.
    """

    old: Figure
    new: Figure

    @property
    def against(self) -> Optional[str]:
        """The peer our row is measured against, or None for a comparison of times."""
        if not self.new.ours:
            return None
        old, new = dict(self.old.speedups), dict(self.new.speedups)
        common = [p for p in self.new.peers if p in old and p in new]
        return min(common, key=lambda p: new[p][0]) if common else None

    def _pair(self) -> Tuple[Tuple[float, float, float], Tuple[float, float, float]]:
        """(old, new) as (median, low, high) of a time-like figure: larger is slower."""
        peer = self.against
        if peer is None:
            return ((self.old.median, self.old.low, self.old.high),
                    (self.new.median, self.new.low, self.new.high))
        o, n = dict(self.old.speedups)[peer], dict(self.new.speedups)[peer]
        return (1 / o[0], 1 / o[2], 1 / o[1]), (1 / n[0], 1 / n[2], 1 / n[1])

    @property
    def change(self) -> float:
        old, new = self._pair()
        return new[0] / old[0] - 1.0

    @property
    def significant(self) -> bool:
        """The runs' ranges do not overlap: the change is larger than the noise either saw."""
        old, new = self._pair()
        return new[1] > old[2] or new[2] < old[1]


def compare(old: Dict[Tuple[str, str], Figure], new: Dict[Tuple[str, str], Figure]) -> List[Change]:
    """The rows both runs measured.

    Raises:
        ResultsError: two figures so far apart that their ratio is not a finite number.
    """
    out = [Change(old[key], new[key]) for key in new if key in old]
    for c in out:
        old_pair, new_pair = c._pair()
        if not all(math.isfinite(n / o) for o, n in zip(old_pair, new_pair)):
            raise ResultsError(f"{c.new.case} | {c.new.implementation}: the two runs' figures are too far apart "
                               "to compare (their ratio is not a finite number)")
    return out


def regressions(changes: Iterable[Change], percent: float) -> List[Change]:
    """Our rows that became slower by more than ``percent`` and beyond the noise."""
    return [c for c in changes if c.new.ours and c.significant and c.change * 100 > percent]
