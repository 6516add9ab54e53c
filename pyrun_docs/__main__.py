"""``python -m pyrun_docs`` is ``pyrun-docs``."""

import sys

from .cli import main

sys.exit(main())
