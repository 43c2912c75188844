"""``python -m coop_utils.cli``: the ``coop`` command."""

import sys

from . import main

sys.exit(main())
