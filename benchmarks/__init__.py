"""Benchmarks: run with `make bench`; they write results to benchmarks/results/, never fail."""
