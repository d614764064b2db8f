from runs_tui.cli import main

raise SystemExit(main())
