"""The lenient front door: raw ERP exports in, dataset folders the strict contract
accepts out (`replenish import`). See `importer` for the flow."""

from replenish.importing.errors import ExportError
from replenish.importing.importer import ImportResult, import_export, preview
from replenish.importing.mapping import Mapping, read_mapping

__all__ = ["ExportError", "ImportResult", "Mapping", "import_export", "preview", "read_mapping"]
