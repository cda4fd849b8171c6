"""The one error of the import: an export that cannot be read or imported."""

from __future__ import annotations


class ExportError(Exception):
    """A raw export that cannot be read or imported; the message says why and what to do."""
