"""Measurement of the product's outputs, for tests and benchmarks (not shipped): lip sync, speech round trips."""
