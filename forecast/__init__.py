"""Demand forecasting: order history -> customer segments -> per-(SKU, segment) forecasts."""
