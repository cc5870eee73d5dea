"""`python -m capa_monitor` runs the command line."""

from capa_monitor.cli import main

raise SystemExit(main())
