"""The base of every error that is the user's to fix: the CLI prints it as one line, not a traceback."""


class SubsegError(Exception):
    """Bad input or settings; the message names the file or option and the problem."""
