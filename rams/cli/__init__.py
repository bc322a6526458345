"""The `rams` command: a thin argparse layer over the library (see :mod:`rams.cli.main`)."""
