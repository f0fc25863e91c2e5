"""Segmentation engines and their registry.

Each engine implements :class:`~bids_app.engines.base.Engine` (construct once from typed options, load a model,
``predict`` images in memory) and is described by an :class:`~bids_app.engines.base.EngineSpec`. The parser,
the configuration, the participant level, the segmentation workflow, ``subseg models`` and ``boutiques.json``
all read :data:`ENGINES`. An engine in another distribution registers its spec under the entry-point group
``subseg.engines`` (``name = "package.module:SPEC"``); that module imports :mod:`bids_app.engines.base`, not this
registry, which is still loading it.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from .base import EngineSpec
from .meshnet.options import SPEC as MESHNET
from .nnunet import SPEC as NNUNET
from .synthseg.options import SPEC as SYNTHSEG

#: Entry-point group through which other distributions add engines.
ENTRY_POINT_GROUP = "subseg.engines"


def _registry() -> dict[str, EngineSpec]:
    """Built-in engines, then those registered through :data:`ENTRY_POINT_GROUP`, by name.

    The order is the order their command-line options are listed in (nnunet's, synthseg's, meshnet's).
    """
    engines = {spec.name: spec for spec in (NNUNET, SYNTHSEG, MESHNET)}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        spec = entry.load()
        if not isinstance(spec, EngineSpec) or spec.name != entry.name:
            raise TypeError(f"entry point {entry.value} ({ENTRY_POINT_GROUP}) is not an EngineSpec named {entry.name}")
        engines.setdefault(spec.name, spec)
    return engines


#: Every engine subseg can run, by ``--engine`` name.
ENGINES: dict[str, EngineSpec] = _registry()


def engine_spec(name: str) -> EngineSpec:
    """The registry entry of engine ``name``."""
    return ENGINES[name]


def option_names() -> list[str]:
    """The destinations of every registered engine's command-line options, in registry order, each once."""
    return list(dict.fromkeys(option.dest for spec in ENGINES.values() for option in spec.cli))


def option_defaults() -> dict:
    """Each registered engine option's default, from the options dataclass that declares it."""
    defaults = {}
    for spec in ENGINES.values():
        fields = spec.options.__dataclass_fields__
        for option in spec.cli:
            defaults.setdefault(option.dest, fields[option.dest].default)
    return defaults
