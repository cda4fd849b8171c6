"""The data contract: the tables a dataset holds, how they are read and validated, and
how they are written (atomically). Imports nothing else of the project.

`Dataset.read(folder)` returns typed tables or raises `DatasetError` with a report that
names every file, column and row at fault.
"""

from contract.dataset import Dataset, DatasetError, check_folder, check_frames
from contract.validation import Finding, Report, Severity

__all__ = [
    "Dataset",
    "DatasetError",
    "Finding",
    "Report",
    "Severity",
    "check_folder",
    "check_frames",
]
