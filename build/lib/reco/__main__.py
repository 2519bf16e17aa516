"""``python -m reco``: see `reco.cli`."""

import sys

from reco.cli import main

sys.exit(main())
