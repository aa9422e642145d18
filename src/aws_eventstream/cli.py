"""``aws-eventstream``: bench, dump, presign, frame and load (``aws_eventstream._tools.cli``)."""

from __future__ import annotations

import sys

from ._tools.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
