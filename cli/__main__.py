"""`python -m cli`: the `replenish` command."""

from cli.main import entry

entry()
