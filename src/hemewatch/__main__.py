"""`python -m hemewatch` runs the command line."""

from hemewatch.cli import main

main()
