"""What every command shares: one-line errors, a clean exit on Ctrl-C, quiet libraries."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from synthclf.errors import SynthclfError


def exit_on_user_error(main: Callable[[], None]) -> None:
    """Run ``main``; a :class:`SynthclfError` becomes ``error: <one line>`` on stderr and exit status 2."""
    try:
        main()
    except SynthclfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def run_stage(description: str, main: Callable[[argparse.Namespace], None], *args: tuple[str, str]) -> None:
    """Parse the positional ``args`` (name, help) and run ``main``; errors become one line and exit 2."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(description=description)
    for name, help_text in args:
        parser.add_argument(name, help=help_text)
    namespace = parser.parse_args()
    try:
        exit_on_user_error(lambda: main(namespace))
    except KeyboardInterrupt:
        # Outputs are written by rename at the very end, so nothing half-written is left behind.
        print("interrupted: no output was written; completed LLM requests stay cached", file=sys.stderr)
        sys.exit(130)
