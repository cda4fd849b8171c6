"""The `replenish` command: datasets, forecasts, plans, simulations, the main job and the
demo (`cli.main`), what-ifs (`cli.simulate`), and running the service: `db`, `users`,
`serve` (`cli.service`, which calls into `api`). The top layer: nothing imports it.
"""
