"""`python -m wsb_tui` is `wsb`."""

from wsb_tui.cli import main

main()
