"""Errors that mean "the user asked for something that cannot be done".

The CLI turns an :class:`AttnmodError` into a one-line message on stderr and exit code 1; anything
else is a bug and keeps its traceback.
"""


class AttnmodError(Exception):
    """A user or input error with a message meant to be read by a person."""


class ModelLoadError(AttnmodError):
    """The requested model could not be found or loaded."""
