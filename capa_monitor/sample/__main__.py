"""`python -m capa_monitor.sample [FOLDER]` writes the demo team's sample files."""

from capa_monitor.sample import main

raise SystemExit(main())
