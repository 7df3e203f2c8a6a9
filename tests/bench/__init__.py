"""Benchmarks (`make bench`): client CPU and memory against a local moto server."""
