"""govbot's benchmarks: answer quality against baselines, speed and scale, and the service under load.

Run them with `make bench` (or `python -m bench`); they print tables and never fail the test suite.
"""
