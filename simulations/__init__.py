"""Synthetic retail worlds, churn model, replenishment policies and what-if experiments."""
