from wssc.cli.main import main

raise SystemExit(main())
