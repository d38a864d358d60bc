"""Benchmarks (`make bench` = `python -m bench`). Each prints its figure and its ratio to a
limit measured in the same run on the same machine; never a timed test, never a shrunk workload."""
