"""Electronic guard patrol (电子巡查): checkpoints, routes, plans, check-ins, evaluation (Art 10, Art 6)."""
