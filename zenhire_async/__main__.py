"""``python -m zenhire_async``: the ``zenhire`` command line."""

import sys

from .cli import main

sys.exit(main())
