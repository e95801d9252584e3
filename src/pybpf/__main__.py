"""``python -m pybpf`` runs the CLI."""

import sys

from pybpf.cli.main import main

sys.exit(main())
