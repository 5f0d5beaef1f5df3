"""Slow, obvious NumPy versions of every fastem kernel: the truth the kernels are tested against.

Each function works on dense arrays (NaN or a boolean mask marks missing entries) and is
written for clarity, not speed.
"""
import numpy as np
from scipy.special import logsumexp

# ------------------------------------------------------------ incomplete-matrix mixtures (core)

# ------------------------------------------------------------ dense Gaussian mixtures and k-means

# ------------------------------------------------------------ general EM plug-ins and VAE
