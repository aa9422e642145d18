"""What ``aws-eventstream bench`` shows: the table, the plot, the progress line, the machine."""

from __future__ import annotations

import os
import platform
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import BACKEND, CRC_KERNEL, __version__, crc_kernels
from .bench import Row

def _fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_rate(rate: Optional[float]) -> str:
    if not rate:
        return ""
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.3g} {unit}"
    return f"{rate:.3g} B/s"


def _short(name: str) -> str:
    return name.split(" (")[0].replace(" EventStreamBuffer", "").replace(" serializer", "")


def progress(stream: IO[str]) -> Callable[[int, int, str], None]:
    """A ``progress`` callback for :func:`run` that reports on ``stream`` (one updated line on a tty)."""
    tty = stream.isatty()

    def report(done: int, total: int, what: str) -> None:
        line = f"[{done}/{total}] {what}"
        if tty:
            stream.write("\r\x1b[2K" + line[:120])
            if done == total:
                stream.write("\n")
        else:
            stream.write(line + "\n")
        stream.flush()
    return report


def environment() -> Dict[str, Any]:
    """What a result depends on: our version, backend and CRC kernel, Python, the machine."""
    return {
        "version": __version__, "backend": BACKEND, "crc_kernel": CRC_KERNEL, "crc_kernels": list(crc_kernels()),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "platform": platform.platform(terse=True),
    }


def table(rows: List[Row], ratios: Dict[int, Dict[str, float]]) -> str:
    """The measured rows as a text table, one block per case, with the speed-ups of ours."""
    header = ("case", "implementation", "time/op", "throughput", "speed-up against each peer")
    lines: List[Sequence[str]] = []
    last_case = None
    for i, row in enumerate(rows):
        if row.seconds is None:  # skipped
            continue
        case = row.case.name if row.case is not last_case else ""
        last_case = row.case
        vs = ", ".join(f"{x:.3g}x {_short(peer)}" for peer, x in ratios.get(i, {}).items())
        lines.append((case, row.impl.name, _fmt_time(row.seconds), _fmt_rate(row.throughput), vs))
    widths = [max(len(r[k]) for r in [header, *lines]) for k in range(4)]

    def fmt(r: Sequence[str]) -> str:
        cells = [r[j].rjust(widths[j]) if j in (2, 3) else r[j].ljust(widths[j]) for j in range(4)]
        return ("  ".join(cells) + "  " + r[4]).rstrip()

    out = [fmt(header), "-" * (sum(widths) + 8 + len(header[4]))]
    for r in lines:
        if r[0] and len(out) > 2:
            out.append("")
        out.append(fmt(r))
    return "\n".join(out)


def plot(rows: List[Row], path: str) -> None:
    """Plot throughput against size (CRC-32, and encoding a frame) into the PNG ``path``.

    Raises:
        ImportError: matplotlib is not installed (the message says how to install it).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('--plot needs matplotlib: pip install "aws-eventstream[plot]"') from None
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, groups, title in ((axes[0], ("crc32",), "CRC-32"),
                              (axes[1], ("encode", "frame"), "encode a frame")):
        series: Dict[str, List[Tuple[int, float]]] = {}
        for row in rows:
            rate = row.throughput
            if rate and row.case.group in groups and not row.impl.reference \
                    and (row.case.group != "frame" or row.case.name.startswith("encode")):
                series.setdefault(row.impl.name, []).append((row.case.size, rate / 1e9))
        for name, points in sorted(series.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                    linewidth=2.5 if name.startswith("aws-eventstream") else 1.2, label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("bytes per call")
        ax.set_ylabel("GB/s")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    env = environment()
    fig.suptitle(f"aws-eventstream {env['version']} · CRC kernel {env['crc_kernel']} · "
                 f"Python {env['python']} · {env['machine']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
