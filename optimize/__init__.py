"""Replenishment optimization: forecasts + stock + constraints -> reorder plan (OR-Tools)."""
