"""The base of every error that is the user's to fix: the CLI prints it as one line, not a traceback."""


class SubsegError(Exception):
    """Bad input or settings; the message names the file or option and the problem."""


class UsageError(SubsegError):
    """A command-line argument names something the data does not have (exit status 2, as argparse's errors)."""
