"""`rams compare BEFORE.json AFTER.json [-o diff.json]`: is one model better than another?"""

from __future__ import annotations

import argparse

from rams.cli.options import add_out

DESCRIPTION = (
    "Both files are `rams evaluate -o` reports of the same labelled flights (several of them), scored "
    "the same way. Each class's pooled precision, recall and F1 are differenced, AFTER minus BEFORE, with "
    "the 95%% range of a paired bootstrap over the flights and the share of draws in which F1 rose: a "
    "range that holds zero is a difference another draw of as many flights could undo."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` sub-command."""
    p = sub.add_parser("compare", help="is one model better than another on the same flights",
                       description=DESCRIPTION)
    p.add_argument("before", help="rams evaluate -o report (JSON) of the first model")
    p.add_argument("after", help="the same flights' report of the second model")
    add_out(p, "write the differences and their ranges as JSON here")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.compare import compare, format_difference

    print(format_difference(compare(args.before, args.after, args.out, overwrite=args.overwrite)))
    return 0
