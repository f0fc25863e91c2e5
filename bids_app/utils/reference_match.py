"""Match images to reference label maps by their BIDS entities.

FreeSurfer writes one set of labels per subject and session: a reference that leaves out ``acq-``, ``rec-``
or ``run-`` serves every image of its session that it does not contradict. The most specific reference wins;
two equally specific ones are refused.

>>> refs = [({"subject": "01"}, "sub-01_dseg"), ({"subject": "01", "run": "2"}, "sub-01_run-2_dseg")]
>>> match_references({"a": {"subject": "01", "run": "1"}, "b": {"subject": "01", "run": "2"}}, refs)
{'a': 'sub-01_dseg', 'b': 'sub-01_run-2_dseg'}
"""

from __future__ import annotations

import logging

from ..errors import SubsegError

LOGGER = logging.getLogger("subseg")

#: Entities that must be equal between an image and its reference.
REQUIRED = ("subject", "session")
#: Entities a reference may leave out, to serve every image of its subject/session.
OPTIONAL = ("acquisition", "reconstruction", "run")


class ReferenceMatchError(SubsegError):
    """Several references fit one image equally well."""


def _value(entities: dict, name: str) -> str:
    return str(entities.get(name) or "")


def fits(reference: dict, image: dict) -> bool:
    """Whether ``reference`` can be the reference of ``image``."""
    return (all(_value(reference, name) == _value(image, name) for name in REQUIRED)
            and all(_value(reference, name) in ("", _value(image, name)) for name in OPTIONAL))


def match_references(images: dict, references) -> dict:
    """The reference of each image that has one: ``{image name: reference}``.

    ``images`` maps a name to the image's entities; ``references`` lists ``(entities, reference)``.
    A reference used by an image with entities it leaves out is said once in the log.
    """
    matched, shared = {}, {}
    for name, image in images.items():
        candidates = [(sum(bool(_value(entities, key)) for key in OPTIONAL), reference)
                      for entities, reference in references if fits(entities, image)]
        if not candidates:
            continue
        best = max(rank for rank, _ in candidates)
        chosen = [reference for rank, reference in candidates if rank == best]
        if len(chosen) > 1:
            raise ReferenceMatchError(f"several reference label maps for {getattr(name, 'name', name)}: "
                                      f"{', '.join(sorted(str(getattr(r, 'name', r)) for r in chosen))}; "
                                      "choose one with --reference-desc")
        matched[name] = chosen[0]
        if best < sum(bool(_value(image, key)) for key in OPTIONAL):
            shared.setdefault(chosen[0], []).append(str(getattr(name, "name", name)))
    for reference, names in shared.items():
        LOGGER.info("%s has no acq-/rec-/run- entity of its own: it is the reference of every image of its "
                    "session (%s)", getattr(reference, "name", reference), ", ".join(names))
    return matched
