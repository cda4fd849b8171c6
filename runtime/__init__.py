"""What the engines share that is no engine itself: where chunks of work run (inline, a
local Dask cluster, or a cluster by address) and how a chart becomes a PNG file.

Below the engines, above the data contract; matplotlib is imported only when a chart is
drawn, never when an engine is imported.
"""
