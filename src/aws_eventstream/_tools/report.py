"""What ``aws-eventstream bench`` shows: the table, the plot, the progress line, the machine."""

from __future__ import annotations

import os
import platform
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import BACKEND, CRC_KERNEL, __version__, crc_kernels
from .bench import Ratio, Row, best_peer, ratios
from .results import NOISY, Change

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


def _fmt_ratio(q: Ratio) -> str:
    return f"{q.median:.3g}x [{q.low:.3g}-{q.high:.3g}]"


def _grid(header: Sequence[str], lines: Sequence[Sequence[str]], right: Sequence[int], markdown: bool,
          blocks: bool = True) -> List[str]:
    if markdown:
        out = ["| " + " | ".join(header) + " |",
               "|" + "|".join("---:" if j in right else "---" for j in range(len(header))) + "|"]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in lines]
        return out
    widths = [max(len(r[k]) for r in [header, *lines]) for k in range(len(header) - 1)]

    def fmt(r: Sequence[str]) -> str:
        cells = [r[j].rjust(widths[j]) if j in right else r[j].ljust(widths[j]) for j in range(len(widths))]
        return ("  ".join(cells) + "  " + r[-1]).rstrip()

    out = [fmt(header), "-" * (sum(widths) + 2 * len(widths) + len(header[-1]))]
    for r in lines:
        if blocks and r[0] and len(out) > 2:
            out.append("")
        out.append(fmt(r))
    return out


def table(rows: List[Row], ratios: Dict[int, Dict[str, Ratio]], *, markdown: bool = False) -> str:
    """The measured rows, one block per case: median time per call and its range over the
    rounds, throughput, and ours against each peer (median ratio [range over rounds])."""
    header = ("case", "implementation", "time/op (median)", "range", "throughput", "speed-up [range]")
    lines: List[Sequence[str]] = []
    last_case = None
    for i, row in enumerate(rows):
        if row.seconds is None:  # skipped
            continue
        case = row.case.name if row.case is not last_case or markdown else ""
        last_case = row.case
        noisy = " (noisy)" if row.spread is not None and row.spread > NOISY else ""
        vs = ", ".join(f"{_fmt_ratio(q)} {_short(peer)}" for peer, q in ratios.get(i, {}).items())
        assert row.low is not None and row.high is not None
        lines.append((case, row.impl.name, _fmt_time(row.seconds),
                      f"{_fmt_time(row.low)}-{_fmt_time(row.high)}{noisy}", _fmt_rate(row.throughput), vs))
    return "\n".join(_grid(header, lines, (2, 3, 4), markdown))


def streams_table(per_core: Dict[str, Dict[str, float]], *, markdown: bool = False) -> str:
    """Streams one core carries, per implementation and frame length."""
    columns = sorted({k for v in per_core.values() for k in v}, key=lambda k: int(k.split()[0]))
    header = ("implementation", *(f"streams per core, {c}" for c in columns), "")
    lines = [(name, *(f"{per_core[name][c]:,.0f}" if c in per_core[name] else "" for c in columns), "")
             for name in sorted(per_core, key=lambda n: -max(per_core[n].values()))]
    return "\n".join(_grid(header, lines, tuple(range(1, len(columns) + 1)), markdown, blocks=False))


def compare_table(changes: List[Change], *, markdown: bool = False) -> str:
    """Each figure in both runs. Ours are compared by their speed-up against a peer measured
    in the same rounds (``vs`` names it); the others, and ours without a peer, by time."""
    header = ("case", "implementation", "old", "new", "change", "")
    lines: List[Sequence[str]] = []
    last = None
    for c in changes:
        case = c.new.case if c.new.case != last or markdown else ""
        last = c.new.case
        verdict = ("slower" if c.change > 0 else "faster") if c.significant else "within noise"
        peer = c.against
        if peer is None:
            old = f"{_fmt_time(c.old.median)} [{_fmt_time(c.old.low)}-{_fmt_time(c.old.high)}]"
            new = f"{_fmt_time(c.new.median)} [{_fmt_time(c.new.low)}-{_fmt_time(c.new.high)}]"
        else:
            o, n = dict(c.old.speedups)[peer], dict(c.new.speedups)[peer]
            old = f"{o[0]:.3g}x [{o[1]:.3g}-{o[2]:.3g}] vs {_short(peer)}"
            new = f"{n[0]:.3g}x [{n[1]:.3g}-{n[2]:.3g}]"
        lines.append((case, c.new.implementation, old, new, f"{c.change:+.1%}", verdict))
    return "\n".join(_grid(header, lines, (2, 3, 4), markdown))


# --------------------------------------------------------------------------- the picture

_FAMILIES: Tuple[Tuple[str, Callable[[Row], bool], str], ...] = (  # title, rows drawn, x axis
    ("CRC-32", lambda r: r.case.group == "crc32", "size"),
    ("encode a frame", lambda r: r.case.group == "encode" or r.case.name.startswith("encode 16"), "size"),
    ("decode a frame", lambda r: r.case.group == "decode" or r.case.name.startswith("decode 16"), "size"),
    ("Decoder: a stream in 1 KiB chunks", lambda r: r.case.group == "stream", "case"),
    ("1 s of a Transcribe stream (streams per core)", lambda r: r.case.group == "transcribe", "case"),
    ("typed events from a frame", lambda r: r.case.group == "typed", "case"),
    ("boto3, aiobotocore and smithy event streams", lambda r: r.case.group == "sdk", "case"),
)


def _colors(rows: List[Row]) -> Dict[str, Any]:
    """One color per implementation, the same in every panel: ours (and the SDKs on our
    codec) in blues, each peer in a color of its own."""
    ours = ["tab:blue", "deepskyblue", "navy", "steelblue", "darkturquoise"]
    peers = ["tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
             "tab:olive", "gold", "black", "salmon", "lime"]
    out: Dict[str, Any] = {}
    mine = sorted({r.impl.name for r in rows if "aws-eventstream" in r.impl.name})
    theirs = sorted({r.impl.name for r in rows} - set(mine))
    for i, name in enumerate(mine):
        out[name] = ours[i % len(ours)]
    for i, name in enumerate(theirs):
        out[name] = peers[i % len(peers)]
    return out


def plot(rows: List[Row], path: str) -> List[str]:
    """Draw every family measured (throughput, or streams per core) and our speed-up against
    the best peer of each case (with its range over rounds). Writes ``path`` as PNG and
    SVG (beside it, same name); returns the files written.

    Raises:
        ImportError: matplotlib is not installed (the message says how to install it).
        ValueError: nothing was measured.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('--plot needs matplotlib: pip install "aws-eventstream[plot]"') from None
    measured = [r for r in rows if r.seconds is not None and not r.impl.reference]
    families = [(title, keep, axis) for title, keep, axis in _FAMILIES if any(keep(r) for r in measured)]
    if not families:
        raise ValueError("nothing was measured: there is nothing to plot")
    table = ratios(rows)
    colors = _colors(measured)
    grid_rows = (len(families) + 1) // 2 + 1
    fig = plt.figure(figsize=(15, 4.8 * grid_rows))
    spec = fig.add_gridspec(grid_rows, 2)
    for n, (title, keep, axis) in enumerate(families):
        ax = fig.add_subplot(spec[n // 2, n % 2])
        chosen = [r for r in measured if keep(r)]
        if axis == "size":
            _curves(ax, chosen, colors)
        else:
            _bars(ax, chosen, colors, streams=title.startswith("1 s"))
        ax.set_title(title)
    _speedups(fig.add_subplot(spec[grid_rows - 1, :]), rows, table)
    env = environment()
    fig.suptitle(f"aws-eventstream {env['version']} · CRC kernel {env['crc_kernel']} · "
                 f"Python {env['python']} · {env['machine']} · medians of the rounds, error bars their range")
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    base = path[:-4] if path.lower().endswith((".png", ".svg")) else path
    written = [f"{base}.png", f"{base}.svg"]
    fig.savefig(written[0], dpi=110)
    fig.savefig(written[1])
    plt.close(fig)
    return written


def _curves(ax: Any, chosen: List[Row], colors: Dict[str, Any]) -> None:
    """Throughput against bytes per call, one line per implementation."""
    series: Dict[str, List[Tuple[int, float]]] = {}
    for r in chosen:
        assert r.throughput is not None
        series.setdefault(r.impl.name, []).append((r.case.size, r.throughput / 1e9))
    for name, points in sorted(series.items(), key=lambda item: (not item[0].startswith("aws"), item[0])):
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=colors[name],
                linewidth=2.8 if name.startswith("aws-eventstream") else 1.2, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bytes per call")
    ax.set_ylabel("GB/s")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def _bars(ax: Any, chosen: List[Row], colors: Dict[str, Any], *, streams: bool) -> None:
    """One group of horizontal bars per case, with the range over rounds as error bars."""
    cases = list(dict.fromkeys(r.case.name for r in chosen))
    names = list(dict.fromkeys(r.impl.name for r in chosen))
    height = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        ys, values, errs = [], [], []
        for j, case in enumerate(cases):
            row = next((r for r in chosen if r.case.name == case and r.impl.name == name), None)
            if row is None or row.seconds is None or row.low is None or row.high is None:
                continue
            scale = 1.0 if streams else row.case.size / 1e9  # streams per core, or GB/s
            value, low, high = scale / row.seconds, scale / row.high, scale / row.low
            ys.append(j + (k - (len(names) - 1) / 2) * height)
            values.append(value)
            errs.append((value - low, high - value))
        ax.barh(ys, values, height, xerr=list(zip(*errs)) if errs else None, capsize=2, label=name,
                color=colors[name])
    ax.set_yticks(range(len(cases)))
    ax.set_yticklabels([_wrap(c, 34) for c in cases], fontsize=7)
    ax.invert_yaxis()
    if streams:
        ax.set_xlabel("streams one core carries")
    else:
        ax.set_xscale("log")
        ax.set_xlabel("GB/s")
    ax.grid(True, which="both", axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.9)


def _wrap(text: str, width: int = 28) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def _speedups(ax: Any, rows: List[Row], table: Dict[int, Dict[str, Ratio]]) -> None:
    """Ours (the extension) against the best peer of each case: median ratio and range."""
    labels, values, errs = [], [], []
    for row in rows:
        if not row.impl.ours or not row.impl.name.startswith("aws-eventstream (cython"):
            continue
        best = best_peer(rows, row, table)
        if best is None:
            continue
        name, q = best
        case = row.case.name.split(" (")[0].replace("1 s of a Transcribe stream,", "a stream's second,")
        labels.append(f"{case} vs {_short(name)}")
        values.append(q.median)
        errs.append((q.median - q.low, q.high - q.median))
    ys = list(range(len(labels)))
    for y, value, err in zip(ys, values, errs):  # a point and its range: bar lengths mean nothing on a log axis
        ax.errorbar([value], [y], xerr=[[err[0]], [err[1]]], fmt="o", capsize=3, markersize=6,
                    color="tab:green" if value >= 1 else "tab:red")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(list(ys))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("times faster than the best peer (median over rounds, range)")
    ax.set_title("speed-up against the best peer, per case")
    ax.grid(True, which="both", axis="x", alpha=0.3)
