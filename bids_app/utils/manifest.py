"""Complete or redone: the list of an image's outputs and their checksums, written after all of them.

An image's derivatives are up to date only when its manifest exists, records the same source and settings,
and every file it lists exists with the recorded checksum. A run killed at any point, a full disk or a file
deleted by hand leaves an image that is not up to date, so the next run redoes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import atomic_write_text
from .bids_io import derivative_path
from .checksums import sha256_of

#: The sidecar fields that must match for outputs to count as made from this source with these settings.
KEYS = ("SubsegSettings", "SourceSHA256")


def manifest_path(output_dir, source_file, desc: str) -> Path:
    """``logs/outputs/<label map name>.json`` under ``output_dir`` (one per T1w and desc)."""
    dseg = derivative_path(output_dir, source_file, desc=desc, suffix="dseg", extension=".nii.gz")
    return Path(output_dir) / "logs" / "outputs" / dseg.name.replace(".nii.gz", ".json")


def write_manifest(path: Path, output_dir, files, metadata: dict) -> Path:
    """Record ``files`` (under ``output_dir``) with their SHA-256, and the source and settings; write it last."""
    output_dir = Path(output_dir)
    listed = {Path(file).relative_to(output_dir).as_posix(): sha256_of(file) for file in sorted(set(map(str, files)))}
    record = {key: metadata.get(key) for key in KEYS} | {"Files": listed}
    return atomic_write_text(path, json.dumps(record, indent=2) + "\n")


def missing_outputs(path: Path, output_dir, metadata: dict) -> list[str] | None:
    """Outputs the manifest lists that are absent or changed; None when there is no usable manifest for these
    source and settings (the image must be redone)."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or any(record.get(key) != metadata.get(key) for key in KEYS):
        return None
    missing = []
    for relative, checksum in (record.get("Files") or {}).items():
        file = Path(output_dir) / relative
        if not file.is_file() or sha256_of(file) != checksum:
            missing.append(relative)
    return missing if record.get("Files") else None
