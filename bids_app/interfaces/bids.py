"""Write derivatives under their BIDS names, atomically, with their JSON sidecars."""

from __future__ import annotations

import json
from pathlib import Path

from nipype.interfaces.base import (
    BaseInterfaceInputSpec,
    Directory,
    File,
    SimpleInterface,
    TraitedSpec,
    isdefined,
    traits,
)

from ..utils.atomic import atomic_copy, atomic_write_text
from ..utils.bids_io import derivative_path

_EXTENSIONS = (".nii.gz", ".nii", ".tsv", ".json", ".txt", ".png", ".svg", ".html")


class _SinkInputSpec(BaseInterfaceInputSpec):
    base_directory = Directory(mandatory=True, desc="root of the derivatives dataset")
    source_file = File(mandatory=True, desc="the raw T1w the derivative comes from")
    in_file = File(exists=True, mandatory=True, desc="the file to store")
    suffix = traits.Str(mandatory=True, desc="BIDS suffix, e.g. dseg, mask, probseg")
    desc = traits.Str(desc="desc entity")
    label = traits.Str(desc="label entity (probseg)")
    datatype = traits.Enum("anat", "figures", usedefault=True, desc="folder under the session")
    extra_entities = traits.Dict(desc="more entities, e.g. {'from': 'T1w', 'to': 'MNI152NLin2009cAsym'}")
    metadata = traits.Dict(desc="sidecar fields")
    metadata_files = traits.List(File(exists=True), desc="JSON files whose fields join the sidecar")
    extra_metadata = traits.Dict(desc="fields computed during the run that join the sidecar last")


class _SinkOutputSpec(TraitedSpec):
    out_file = File(desc="the stored derivative")
    out_meta = File(desc="its JSON sidecar, if any")


class DerivativesDataSink(SimpleInterface):
    """Copy ``in_file`` to its BIDS derivatives name (temporary name, then rename) and write its sidecar."""

    input_spec = _SinkInputSpec
    output_spec = _SinkOutputSpec

    def _run_interface(self, runtime):
        extension = next((ext for ext in _EXTENSIONS if self.inputs.in_file.endswith(ext)), None)
        if extension is None:
            raise ValueError(f"{self.inputs.in_file}: unknown file type for a derivative")
        entities = dict(self.inputs.extra_entities) if isdefined(self.inputs.extra_entities) else {}
        for name in ("desc", "label"):
            if isdefined(getattr(self.inputs, name)):
                entities[name] = getattr(self.inputs, name)
        target = derivative_path(self.inputs.base_directory, self.inputs.source_file, datatype=self.inputs.datatype,
                                 suffix=self.inputs.suffix, extension=extension, **entities)
        metadata = dict(self.inputs.metadata) if isdefined(self.inputs.metadata) else {}
        if isdefined(self.inputs.metadata_files):
            for path in self.inputs.metadata_files:
                metadata.update(json.loads(Path(path).read_text()))
        if isdefined(self.inputs.extra_metadata):
            metadata.update(self.inputs.extra_metadata)
        atomic_copy(self.inputs.in_file, target)
        self._results["out_file"] = str(target)
        if metadata:
            # The sidecar goes last: it is what marks an output as complete and up to date.
            sidecar = target.with_name(target.name[: -len(extension)] + ".json")
            atomic_write_text(sidecar, json.dumps(metadata, indent=2, default=str) + "\n")
            self._results["out_meta"] = str(sidecar)
        return runtime
