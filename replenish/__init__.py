"""replenish: churn-aware demand forecasting and replenishment.

The facade: the data contract (`Dataset`, `schema`), its loaders and the CLI.
"""

from replenish.dataset import Dataset, DatasetError, check_folder, check_frames
from replenish.validation import Problem, Report, Severity

__all__ = [
    "Dataset",
    "DatasetError",
    "Problem",
    "Report",
    "Severity",
    "check_folder",
    "check_frames",
]
__version__ = "0.1.0"
