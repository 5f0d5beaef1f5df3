"""Reads the course's test_solutions.txt into named arrays."""
import re

import numpy as np

SECTIONS = ("Input:", "After first E-step:", "After first M-step:", "After a run")  # in file order


def _array(text: str) -> np.ndarray:
    numbers = [float(t) for t in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?\.?", text)]
    rows = [r for r in text.strip().split("]") if re.search(r"\d", r)]
    return np.array(numbers).reshape(len(rows), -1) if text.strip().startswith("[[") else np.array(numbers)


def parse(path) -> dict:
    """{section: {name: value}}; names as in the file (X, K, Mu, Var, P, post, LL, X_gold, X_pred, RMSE)."""
    text = open(path).read()
    out = {}
    bounds = [text.index(s) for s in SECTIONS] + [len(text)]
    for name, lo, hi in zip(SECTIONS, bounds, bounds[1:]):
        body = text[lo + len(name):hi]
        fields = re.split(r"^(\w+):", body, flags=re.M)[1:]
        out[name.rstrip(":")] = section = {}
        for key, value in zip(fields[::2], fields[1::2]):
            value = value.strip()
            section[key] = _array(value) if value.startswith("[") else float(value)
    return out
