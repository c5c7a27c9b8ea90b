"""User-facing errors.

Anything a user can get wrong (bad input, a missing optional extra, an
unwritable cache) raises :class:`StatecastError` with a one-line message. The
CLI prints it without a traceback; the server maps it to a 4xx.
"""


class StatecastError(Exception):
    """An error whose message is meant for the user, not a stack trace."""


class MissingExtraError(StatecastError):
    """An optional dependency group is not installed."""

    def __init__(self, extra: str, module: str):
        super().__init__(
            f"this command needs the '{extra}' extra (module '{module}' is missing): "
            f"pip install -e '.[{extra}]'"
        )
        self.extra = extra
        self.module = module


def require(module: str, extra: str):
    """Import ``module`` or raise a :class:`MissingExtraError` naming ``extra``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # only the missing module itself, not its own bugs
        if exc.name and module.split(".")[0] != exc.name.split(".")[0]:
            raise
        raise MissingExtraError(extra, module) from None
