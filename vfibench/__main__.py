"""``python -m vfibench`` runs the command-line interface (the same as the ``vfibench`` command)."""

from vfibench.cli import main

main()
