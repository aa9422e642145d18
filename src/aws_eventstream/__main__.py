"""``python -m aws_eventstream``: the same command line as ``aws-eventstream``."""

import sys

from .cli import main

sys.exit(main())
