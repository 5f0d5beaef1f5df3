"""Numba kernels only: no classes, no I/O, no validation."""
