"""The ``synthclf`` command: one entry point whose subcommands work on the project around the pipeline.

    synthclf status                  what is stale, what the synthetic data cost, where the LLM cache is
    synthclf new-task NAME ...       tasks/NAME.yaml from your own train and test CSV files
    synthclf keep-run NAME           keep the finished run under reports/runs/NAME/
    synthclf compare-runs A B ...    kept runs side by side
    synthclf pr-comment [A] [B]      Markdown of how the results moved between two revisions
    synthclf export [--push-to-hub R] the filtered synthetic sets as Hugging Face datasets with dataset cards

Each subcommand lives in its module, which gives a one-line ``HELP``, a ``DESCRIPTION``, an ``EXAMPLE``,
``add_arguments(parser)`` and ``run(args)``; this module only puts them under one parser. Errors are one
line, ``error: ...``, with exit status 2, whether synthclf or argparse finds them. No stage imports this.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from synthclf import compare_runs, export, metrics_diff, new_task, runs, status
from synthclf.cli import exit_on_user_error

PROG = "synthclf"
SUBCOMMANDS: dict[str, ModuleType] = {
    "status": status,
    "new-task": new_task,
    "keep-run": runs,
    "compare-runs": compare_runs,
    "pr-comment": metrics_diff,
    "export": export,
}


class _Parser(argparse.ArgumentParser):
    """argparse's usage errors as one line and exit status 2, like every synthclf error."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="synthclf: can an LLM write the training data for your text classifier? The pipeline "
                    "itself runs with dvc repro; these commands work on the project around it.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's arguments and an example.",
    )
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    # The description wrapped as argparse would; the example (epilog) kept as written.
    width = min(100, shutil.get_terminal_size().columns - 2)
    for name, module in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=module.HELP, description=textwrap.fill(module.DESCRIPTION, width),
                                  epilog=module.EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error(f"name a command: {', '.join(SUBCOMMANDS)}")
    try:
        exit_on_user_error(lambda: args.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
