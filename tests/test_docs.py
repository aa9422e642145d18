"""The documentation: every Python example in the pages and the README runs, and the API
reference lists every public name.

Each page's ```python blocks run in order, in a fresh process (one namespace per page). A
block whose first line is ``# needs MODULE, MODULE: why`` runs only where those modules
import, and ``# needs AWS: why`` marks one that talks to AWS itself; both are compiled
everywhere. (docs/README.md says the same for authors.)
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts) + [ROOT / "README.md"]
PUBLIC = ["aws_eventstream", "aws_eventstream.auth", "aws_eventstream.signing", "aws_eventstream.transcribe",
          "aws_eventstream.bedrock", "aws_eventstream.utils", "aws_eventstream.botocore", "aws_eventstream.smithy",
          "aws_eventstream.pipecat", "aws_eventstream.testing", "aws_eventstream.cli"]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_NEEDS = re.compile(r"^# needs ([^:]+):")


def _blocks(page: Path):
    return [m.group(1) for m in _BLOCK.finditer(page.read_text(encoding="utf-8"))]


def _runs_here(block: str) -> bool:
    needs = _NEEDS.match(block)
    if needs is None:
        return True
    names = [n.strip() for n in needs.group(1).split(",")]
    return "AWS" not in names and all(importlib.util.find_spec(n) is not None for n in names)


def test_the_pages_have_examples():
    assert DOCS.is_dir() and len(PAGES) > 10
    assert sum(len(_blocks(p)) for p in PAGES) >= 15


@pytest.mark.parametrize("page", [p for p in PAGES if _blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_example_runs(page, tmp_path):
    blocks = _blocks(page)
    for i, block in enumerate(blocks):
        compile(block, f"{page.name} block {i + 1}", "exec")  # a syntax error fails even where it cannot run
    runnable = [b for b in blocks if _runs_here(b)]
    if not runnable:
        pytest.skip(f"{page.name}: every example needs what is not installed here")
    script = tmp_path / "example.py"
    script.write_text("\n\n".join(runnable), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{page.name}:\n{done.stdout}\n{done.stderr}"


def _referenced() -> set:
    names = set()
    for page in (DOCS / "reference").glob("*.md"):
        names.update(re.findall(r"^\.\. auto\w+:: ([\w.]+)", page.read_text(encoding="utf-8"), re.M))
    return names


@pytest.mark.parametrize("module", PUBLIC)
def test_the_reference_lists_every_public_name(module):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:  # aws_eventstream.smithy: Python 3.12+ with smithy
        pytest.skip(str(exc))
    missing = [n for n in mod.__all__ if n != "__version__" and f"{module}.{n}" not in _referenced()]
    assert not missing, f"docs/reference does not list {module}: {', '.join(missing)}"


def test_the_reference_names_only_what_exists():
    for dotted in sorted(_referenced()):
        module, _, name = dotted.rpartition(".")
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        assert name in getattr(mod, "__all__", ()), f"{dotted} is in docs/reference but not public"


def test_the_readme_stays_short_and_points_into_the_docs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links and all((ROOT / link).exists() for link in links), links
    assert 'pip install -e ".[test]" && pytest' in text and "aws-eventstream bench" in text
