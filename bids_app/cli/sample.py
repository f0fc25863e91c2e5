"""``subseg sample OUT_DIR``: write the packaged sample BIDS dataset, with its reference labels (no network)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subseg sample",
        description="Write a small real BIDS dataset from the scans that ship with subseg: sub-01 (voxelmorph) "
        "and sub-02 (niivue), with FreeSurfer reference labels in OUT_DIR/derivatives/reference, and sub-03 "
        "(brainchop's raw head, two sessions). Sources and licences go to OUT_DIR/sourcedata.")
    parser.add_argument("out_dir", type=Path, help="the dataset's folder (must not exist yet)")
    return parser


def main(argv: list[str]) -> int:
    """Run ``subseg sample ARGV``; return the exit status (errors are one line on stderr)."""
    args = build_parser().parse_args(argv)
    from ..utils.sample_data import make_sample_dataset

    try:
        path = make_sample_dataset(args.out_dir.expanduser().absolute())
    except OSError as error:
        print(f"subseg sample: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0
