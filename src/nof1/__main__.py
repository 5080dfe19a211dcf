"""``python -m nof1`` runs the command line."""

from nof1.cli import main

raise SystemExit(main())
