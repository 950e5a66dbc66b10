from awaitguard.cli import main

raise SystemExit(main())
