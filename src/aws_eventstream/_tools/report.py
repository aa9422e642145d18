"""What ``aws-eventstream bench`` shows: the table, the plot, the progress line, the machine."""

from __future__ import annotations

import os
import platform
import textwrap
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import BACKEND, CRC_KERNEL, JSON_BACKEND, __version__, crc_kernels
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


WIDTH = 100  # the text output fits a terminal this wide; --json and --markdown have every detail


def wrap(text: str, indent: str = "") -> str:
    """``text`` in lines of at most :data:`WIDTH` columns."""
    return "\n".join(textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent or "  ",
                                    break_on_hyphens=False)) if text else ""


def progress(stream: IO[str]) -> Callable[[int, int, str], None]:
    """A ``progress`` callback for :func:`run` on ``stream``: one line, updated in place on a
    terminal; elsewhere (a pipe, a CI log) that line once, when the run starts."""
    tty = stream.isatty()
    started = False

    def report(done: int, total: int, what: str) -> None:
        nonlocal started
        if tty:
            bar = "#" * (20 * done // max(total, 1))
            line = f"[{bar:<20}] {100 * done // max(total, 1):3d}%  {what}"
            stream.write("\r\x1b[2K" + line[:WIDTH - 1])
            if done == total:
                stream.write("\r\x1b[2K")
        elif not started:
            stream.write(f"measuring ({total} steps; the tables follow when it is done)\n")
        started = True
        stream.flush()
    return report


def environment() -> Dict[str, Any]:
    """What a result depends on: our version, backend and CRC kernel, Python, the machine."""
    return {
        "version": __version__, "backend": BACKEND, "crc_kernel": CRC_KERNEL, "crc_kernels": list(crc_kernels()),
        "json": JSON_BACKEND,
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
    rounds, throughput, and ours against the peers (median ratio [range over rounds]).

    As text, within :data:`WIDTH` columns: ours against the case's fastest peer only. As
    Markdown, every peer.
    """
    if markdown:
        return _full_table(rows, ratios)
    out: List[str] = []
    name_width = 40
    head = f"{'':<{name_width}}  {'time/op':>9}  {'range':>12}  {'throughput':>10}  speed-up [range]"
    out += [head, "-" * len(head)]
    by_case: Dict[int, List[Tuple[int, Row]]] = {}
    order: List[Any] = []
    for i, row in enumerate(rows):
        if row.seconds is None:
            continue
        if id(row.case) not in by_case:
            by_case[id(row.case)] = []
            order.append(row.case)
        by_case[id(row.case)].append((i, row))
    for case in order:
        members = by_case[id(case)]
        fastest = _fastest_peer([r for _, r in members])
        title = case.name + (f": speed-up against {_short(fastest)}, its fastest peer" if fastest else "")
        if out[-1] != "-" * len(head):
            out.append("")
        out.append(wrap(title))
        for i, row in members:
            assert row.seconds is not None and row.low is not None and row.high is not None
            spread = f"{(row.low / row.seconds - 1):+.0%}/{(row.high / row.seconds - 1):+.0%}"
            noisy = "~" if row.spread is not None and row.spread > NOISY else " "
            q = ratios.get(i, {}).get(fastest) if fastest else None
            name = "  " + row.impl.name
            figures = (f"{_fmt_time(row.seconds):>9}  {spread:>11}{noisy}  {_fmt_rate(row.throughput):>10}  "
                       + (_fmt_ratio(q) if q else ""))
            if len(name) > name_width:
                out.append(name)
                name = ""
            out.append(f"{name:<{name_width}}  {figures}".rstrip())
    out += ["", "range: the median's 95% confidence interval over the rounds, from the median (~: wider "
            f"than {NOISY:.0%}, noisy); speed-up: the peer's time / ours, the median of the rounds' "
            "ratios [its interval]. --markdown and --json have ours against every peer."]
    return "\n".join(line if len(line) <= WIDTH or "\n" in line else wrap(line) for line in out)


def _fastest_peer(rows: List[Row]) -> Optional[str]:
    peers = [r for r in rows if not r.impl.ours and not r.impl.reference and not r.impl.partial and r.seconds]
    return min(peers, key=lambda r: r.seconds or 0.0).impl.name if peers else None


def _full_table(rows: List[Row], ratios: Dict[int, Dict[str, Ratio]]) -> str:
    header = ("case", "implementation", "time/op (median)", "range", "throughput", "speed-up [range]")
    lines: List[Sequence[str]] = []
    for i, row in enumerate(rows):
        if row.seconds is None:  # skipped
            continue
        noisy = " (noisy)" if row.spread is not None and row.spread > NOISY else ""
        vs = ", ".join(f"{_fmt_ratio(q)} {_short(peer)}" for peer, q in ratios.get(i, {}).items())
        assert row.low is not None and row.high is not None
        lines.append((row.case.name, row.impl.name, _fmt_time(row.seconds),
                      f"{_fmt_time(row.low)}-{_fmt_time(row.high)}{noisy}", _fmt_rate(row.throughput), vs))
    return "\n".join(_grid(header, lines, (2, 3, 4), True))


def streams_table(per_core: Dict[str, Dict[str, float]], *, markdown: bool = False) -> str:
    """Streams one core carries, per implementation and frame length."""
    columns = sorted({k for v in per_core.values() for k in v}, key=lambda k: int(k.split()[0]))
    header = ("implementation", *(f"{c}" if not markdown else f"streams per core, {c}" for c in columns), "")
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
    # One panel a row, as wide as a README shows a picture (about 900 pixels); each panel's
    # legend in a strip of its own below it, off the data.
    panels: List[Tuple[float, float]] = []  # (plot height, legend height) in inches
    for _, keep, axis in families:
        names = sorted({r.impl.name for r in measured if keep(r)})
        lines = len(names) if _legend_columns(names) == 1 else (len(names) + 1) // 2
        cases = len({r.case.name for r in measured if keep(r)})
        panels.append((2.4 + (0.45 * cases if axis == "case" else 0.0), 0.3 + 0.19 * lines))
    speedup_rows = sum(1 for r in rows if r.impl.ours and r.impl.name.startswith("aws-eventstream (cython"))
    heights = [h for panel in panels for h in panel] + [1.0 + 0.3 * max(speedup_rows, 1)]
    fig = plt.figure(figsize=(9, sum(heights) + 0.8))
    spec = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    for n, (title, keep, axis) in enumerate(families):
        ax = fig.add_subplot(spec[2 * n, 0])
        chosen = [r for r in measured if keep(r)]
        if axis == "size":
            _curves(ax, chosen, colors)
        else:
            _points(ax, chosen, colors, streams=title.startswith("1 s"))
        ax.set_title(title, fontsize=11)
        legend = fig.add_subplot(spec[2 * n + 1, 0])
        legend.axis("off")
        handles, labels = ax.get_legend_handles_labels()
        legend.legend(handles, labels, fontsize=8, loc="upper left", ncol=_legend_columns(labels), frameon=False,
                      borderaxespad=0.0)
    _speedups(fig.add_subplot(spec[len(heights) - 1, 0]), rows, table)
    env = environment()
    fig.suptitle(f"aws-eventstream {env['version']} · CRC {env['crc_kernel']} · Python {env['python']} · "
                 f"{env['machine']}\nmedians of the rounds; error bars: their range", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    base = path[:-4] if path.lower().endswith((".png", ".svg")) else path
    written = [f"{base}.png", f"{base}.svg"]
    fig.savefig(written[0], dpi=100)
    fig.savefig(written[1])
    plt.close(fig)
    return written


def _legend_columns(names: Sequence[str]) -> int:
    """Two columns of legend while the names fit side by side at the picture's width."""
    return 2 if max((len(n) for n in names), default=0) <= 38 else 1


def _curves(ax: Any, chosen: List[Row], colors: Dict[str, Any]) -> None:
    """Throughput against bytes per call: a line only through the sizes of one sweep (a
    case group); a size measured on its own is a point, never joined to another."""
    series: Dict[str, Dict[str, List[Tuple[int, float]]]] = {}
    for r in chosen:
        assert r.throughput is not None
        series.setdefault(r.impl.name, {}).setdefault(r.case.group, []).append((r.case.size, r.throughput / 1e9))
    for name, groups in sorted(series.items(), key=lambda item: (not item[0].startswith("aws"), item[0])):
        ours = name.startswith("aws-eventstream")
        for k, points in enumerate(groups.values()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=colors[name],
                    linestyle="-" if len(points) > 1 else "none", linewidth=2.6 if ours else 1.2,
                    label=name if k == 0 else None)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bytes per call", fontsize=9)
    ax.set_ylabel("GB/s", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)


def _points(ax: Any, chosen: List[Row], colors: Dict[str, Any], *, streams: bool) -> None:
    """One row per case, one point per implementation with the range over rounds: points,
    not bars, since a bar's length means nothing on a log axis."""
    cases = list(dict.fromkeys(r.case.name for r in chosen))
    names = list(dict.fromkeys(r.impl.name for r in chosen))
    step = 0.7 / max(len(names), 1)
    for k, name in enumerate(names):
        ys, values, errs = [], [], []
        for j, case in enumerate(cases):
            row = next((r for r in chosen if r.case.name == case and r.impl.name == name), None)
            if row is None or row.seconds is None or row.low is None or row.high is None:
                continue
            scale = 1.0 if streams else row.case.size / 1e9  # streams per core, or GB/s
            value, low, high = scale / row.seconds, scale / row.high, scale / row.low
            ys.append(j + (k - (len(names) - 1) / 2) * step)
            values.append(value)
            errs.append((value - low, high - value))
        if values:
            ax.errorbar(values, ys, xerr=list(zip(*errs)), fmt="o", capsize=2, markersize=5, label=name,
                        color=colors[name])
    ax.set_yticks(range(len(cases)))
    ax.set_yticklabels([_wrap(c, 40) for c in cases], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("streams one core carries" if streams else "GB/s", fontsize=9)
    ax.grid(True, which="both", axis="x", alpha=0.3)


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
    ax.set_yticklabels([_wrap(label, 60) for label in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("times faster than the best peer (median over rounds, range)", fontsize=9)
    ax.set_title("speed-up against the best peer, per case", fontsize=11)
    ax.grid(True, which="both", axis="x", alpha=0.3)
