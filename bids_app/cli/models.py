"""``subseg models {list,fetch,import}``: the weight files subseg can use, in its cache."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module
from pathlib import Path
from urllib.error import URLError

from bids_app.engines import ENGINES as ENGINE_SPECS
from bids_app.engines.synthseg import weights

LOGGER = logging.getLogger("subseg")

#: Engines whose weights ``models fetch`` knows, and the file each fetches by default.
ENGINES = {"synthseg": weights.DEFAULT}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="subseg models", description="List the built-in models and, in the subseg cache, download or import "
        "weights ($SUBSEG_HOME, default ~/.cache/subseg).")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the built-in models, and known weight files and whether they are cached")
    fetch = commands.add_parser("fetch", help="download weights (needs internet) and check their sha256")
    fetch.add_argument("engine", choices=sorted(ENGINES))
    fetch.add_argument("--file", choices=sorted(weights.KNOWN), help="which file (default: %(default)s)",
                       default=weights.DEFAULT)
    fetch.add_argument("--url", help="download from this mirror instead; the published sha256 is still checked")
    imported = commands.add_parser("import", help="copy a weights file you have into the cache")
    imported.add_argument("path", help="the .h5 file, e.g. synthseg_2.0.h5 from the authors or FreeSurfer")
    imported.add_argument("--name", choices=sorted(weights.KNOWN), help="its published name (default: its own)")
    return parser


def _list() -> int:
    folder = weights.cache_dir()
    print(f"# cache: {folder}")
    print("name\tstatus\tbytes\tchecksum\tdescription")
    for spec in ENGINE_SPECS.values():
        if spec.models:
            module, function = spec.models.split(":")
            print("\n".join(getattr(import_module(module), function)()))
    for known in weights.KNOWN.values():
        path = folder / known.name
        status = "present" if path.is_file() else "missing"
        size = path.stat().st_size if path.is_file() else (known.size or "")
        checksum = f"sha256:{known.sha256}" if known.sha256 else f"git:{known.git_blob}" if known.git_blob else ""
        print(f"{known.name}\t{status}\t{size}\t{checksum}\t{known.description}")
    return 0


def _check_loads(path, name) -> None:
    """Build the network the file is for and load it, so that a wrong file is refused before it is cached."""
    from bids_app.engines.synthseg.convert import load_keras_weights
    from bids_app.engines.synthseg.engine import load_network, load_qc_network
    from bids_app.engines.synthseg.labels import PARCELLATION_LABELS
    from bids_app.engines.synthseg.network import UNet

    kind = weights.kind_of(name)
    if kind == "parcellation":
        load_keras_weights(UNet(3, len(PARCELLATION_LABELS), name="unet_parc").keras_layers(), path)
    elif kind == "qc":
        load_qc_network(path)
    else:
        load_network(path, robust=kind == "robust")


def main(argv: list[str]) -> int:
    """Run ``subseg models ARGV``; return the exit status (errors are one line on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list()
        if args.command == "fetch":
            path = weights.fetch(args.file, args.url)
        else:
            source = Path(args.path)
            name = args.name or source.name
            if source.is_file():
                _check_loads(source, name)
            path = weights.import_file(source, name)
    except URLError as error:  # no network, unknown host, refused, HTTP error
        url = args.url or weights.KNOWN[args.file].url
        print(f"subseg models fetch: could not download {url} ({error.reason}); without internet here, download "
              f"it on another machine and run 'subseg models import {args.file}'", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as error:
        print(f"subseg models {args.command}: {error}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
