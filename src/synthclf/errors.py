"""The one error type users see: a single line naming the file, field or value at fault."""


class SynthclfError(Exception):
    """A problem with the user's input or environment, reported as one line (no traceback)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def dvc_error(stderr: str) -> str:
    """The line of a failed DVC command's stderr that says what went wrong."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no message"])[-1]


def describe_validation_error(where: str, exc: "pydantic.ValidationError") -> SynthclfError:  # noqa: F821
    """Turn pydantic's multi-line report into one line that names the file and the field."""
    first = exc.errors()[0]
    # A key may hold a line break or other control characters (YAML allows them): escape them, so
    # the message stays one line and shows the key as it really is.
    field = ".".join(str(part) for part in first["loc"]).encode("unicode_escape").decode("ascii") or "(top level)"
    value = first.get("input")
    shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
    more = len(exc.errors()) - 1
    extra = f" [+{more} more problem{'s' if more > 1 else ''}]" if more else ""
    return SynthclfError(f"{where}: field '{field}': {first['msg']}{shown}{extra}")
