"""`python -m engine` runs the mailprobe command."""

from engine.cli import main

raise SystemExit(main())
