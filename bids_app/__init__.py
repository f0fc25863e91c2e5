"""subseg: subcortical segmentation of T1-weighted MRI as a BIDS App."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("subseg")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
