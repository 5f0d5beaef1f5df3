"""Save and load fitted models: a versioned .npz of arrays plus a JSON header, no pickle.

A saved model is an uncompressed .npz holding

- ``__header__``: a JSON string with the format name and version, the model's class
  (``module.QualName`` of a public fastem estimator), its ``get_params()`` and its fitted
  state (every public attribute whose name ends in ``_``, see ``Estimator._fitted_state``);
- one array per NumPy array or NumPy scalar inside the parameters and the state, named by its
  path (``state.means_``, ``state.params_.enc_w``, ``params.means_init``, ...), which the
  header refers to.

Python scalars, strings, None, lists, tuples, ranges and string-keyed dicts are written into
the header (floats as their shortest round-trip repr, so they come back bit for bit); arrays
keep their dtype, shape and memory order, so a loaded model predicts bit-identically.
Loading checks the format name and version and only ever builds one of the fastem estimator
classes (``np.load(allow_pickle=False)``: no code runs from the file).
"""
from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "save_model", "load_model", "model_classes"]

FORMAT_NAME = "fastem.model"
FORMAT_VERSION = 1
HEADER = "__header__"


# ---------------------------------------------------------------- values <-> JSON + arrays

def encode(value, key: str, arrays: dict):
    """A JSON description of ``value``; every array (or NumPy scalar) in it goes into ``arrays[key...]``."""
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ValueError(f"cannot save {key}: an object array (only numeric, bool and string arrays)")
        arrays[key] = value
        return {"array": key}
    if isinstance(value, np.generic):
        arrays[key] = np.asarray(value)
        return {"scalar": key}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    if isinstance(value, range):
        return {"range": [value.start, value.stop, value.step]}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode(v, f"{key}.{k}", arrays) for k, v in value.items()}}
    raise ValueError(f"cannot save {key}: a {type(value).__name__} (give the model a _fitted_state hook)")


def decode(description, arrays: dict):
    """The value ``encode`` described; arrays come from ``arrays``. KeyError/TypeError when malformed."""
    (kind, body), = description.items()
    if kind == "array":
        return arrays[body]
    if kind == "scalar":
        return arrays[body][()]
    if kind == "value":
        return body
    if kind == "range":
        return range(*body)
    if kind in ("list", "tuple"):
        items = [decode(d, arrays) for d in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {k: decode(d, arrays) for k, d in body.items()}
    raise KeyError(kind)


# ---------------------------------------------------------------- the registry

def model_classes() -> dict[str, type]:
    """``"module.QualName"`` -> class, for every public Estimator subclass defined in fastem."""
    from ._base import Estimator

    found, stack = {}, [Estimator]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("fastem.") and not sub.__name__.startswith("_"):
                found[f"{sub.__module__}.{sub.__qualname__}"] = sub
    return found


def class_path(model) -> str:
    """``"module.QualName"`` of the model's class, the key of ``model_classes``."""
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------- save / load

def save_model(model, path) -> None:
    """Write a fitted fastem estimator to ``path`` (.npz; see the module docstring)."""
    name = class_path(model)
    if name not in model_classes():
        raise ValueError(f"{name} is not a fastem estimator; only those can be saved")
    state = model._fitted_state()
    if not state:
        raise ValueError(f"this {type(model).__name__} is not fitted yet; call fit first")
    arrays: dict = {}
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "class": name,
              "params": encode(model.get_params(), "params", arrays),
              "state": encode(state, "state", arrays)}
    arrays[HEADER] = np.array(json.dumps(header))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def read_arrays(path: Path) -> tuple[dict, dict]:
    """(header, arrays) of a saved model file; ValueError saying what is wrong with it."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError(f"{path}: a single .npy array, not a saved fastem model")
            if HEADER not in z.files:
                raise ValueError(f"{path}: not a saved fastem model (no {HEADER} entry)")
            arrays = {name: z[name] for name in z.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        what = "corrupt file (checksum mismatch)" if "CRC" in str(e) else "truncated file, or not an .npz"
        raise ValueError(f"{path}: {what} ({e})") from None
    except ValueError as e:
        if str(e).startswith(str(path)):
            raise
        raise ValueError(f"{path}: truncated file, or not an .npz ({e})") from None
    try:
        header = json.loads(str(arrays.pop(HEADER)[()]))
        fmt, version = header["format"], header["version"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: corrupt header ({e})") from None
    if fmt != FORMAT_NAME:
        raise ValueError(f"{path}: holds {fmt!r}, not a saved fastem model")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: model format version {version!r}, this fastem reads version {FORMAT_VERSION}")
    return header, arrays


def load_model(path):
    """The fitted model saved at ``path`` by ``model.save(path)``: same class, parameters and
    fitted attributes, so its predictions are bit-identical. ValueError for a missing,
    truncated or corrupt file, another format version, or an unknown model class."""
    path = Path(path)
    header, arrays = read_arrays(path)
    classes = model_classes()
    name = header.get("class")
    if name not in classes:
        raise ValueError(f"{path}: unknown model class {name!r}; this fastem knows {sorted(classes)}")
    try:
        params = decode(header["params"], arrays)
        state = decode(header["state"], arrays)
        model = classes[name](**params)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"{path}: corrupt or incompatible {name} ({type(e).__name__}: {e})") from None
    model._restore_state(state)
    return model
