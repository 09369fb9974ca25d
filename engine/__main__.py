"""`python -m engine` runs the mailprobe command."""

from engine.commands import main

raise SystemExit(main())
