"""Weights: pulling upstream files, weights shipped in packages, and the one catalog of what the engines declare."""
