"""Turn nipype crash files into one line per failed node."""

from __future__ import annotations

from pathlib import Path


def failures_from_crashfiles(crash_dir: Path, exclude=()) -> list[tuple[str, str]]:
    """(node name, the error's own last line) for each crash file in ``crash_dir``, skipping ``exclude``."""
    from nipype.utils.filemanip import loadcrash

    failures = []
    for path in sorted(Path(crash_dir).glob("crash-*")) if Path(crash_dir).exists() else []:
        if path in exclude:
            continue
        crash = loadcrash(str(path))
        lines = [line.strip() for line in "".join(crash.get("traceback", [])).splitlines() if line.strip()]
        failures.append((str(crash.get("node", "")), _strip_exception_name(lines[-1] if lines else "unknown error")))
    return failures


def _strip_exception_name(line: str) -> str:
    """``bids_app.x.InvalidImageError: f.nii.gz: 4D`` -> ``f.nii.gz: 4D``.

    >>> _strip_exception_name("bids_app.interfaces.validation.InvalidImageError: a.nii.gz: holds NaN values")
    'a.nii.gz: holds NaN values'
    >>> _strip_exception_name("a.nii.gz: holds NaN values")
    'a.nii.gz: holds NaN values'
    """
    head, sep, tail = line.partition(": ")
    if sep and head.replace(".", "").replace("_", "").isalnum() and head.split(".")[-1][:1].isupper():
        return tail
    return line
