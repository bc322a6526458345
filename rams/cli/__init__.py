"""The `rams` command: a thin argparse layer over the library (see :mod:`rams.cli.main`)."""

import time

#: When the command began (a `time.perf_counter` reading, taken before its heavy imports): a
#: job's reported wall time counts from here.
STARTED = time.perf_counter()
