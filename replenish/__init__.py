"""replenish's application services: the one path from a dataset to a plan, the main job
(forecast, plan, compare, simulate, report), the care list, stock alerts and summaries.

Built on the data contract (`contract`) and the engines (`forecast`, `optimize`,
`simulations`); used by the HTTP service (`api`) and the command line (`cli`).
"""

__version__ = "0.1.0"
