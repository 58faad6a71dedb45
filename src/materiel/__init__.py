"""materiel: open planning toolkit for European defence-industrial mobilisation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("materiel")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
