"""``python -m fer``: label, train, evaluate."""

from fer.cli import main

raise SystemExit(main())
