"""Benchmarks (`make bench`): measure and write JSON; never run as tests."""
