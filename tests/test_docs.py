"""Documentation promises: every public class, function, method and property of every public
module has a docstring, and the README's commands name subcommands that exist."""
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import fastem
from fastem.cli import build_parser


def public_modules():
    names = [m.name for m in pkgutil.iter_modules(fastem.__path__) if not m.name.startswith("_")]
    return [fastem] + [importlib.import_module(f"fastem.{name}") for name in names]


def undocumented():
    """Dotted names of public objects defined in fastem without a docstring."""
    missing = []
    for module in public_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not inspect.getdoc(obj):
                missing.append(f"{module.__name__}.{name}")
            if inspect.isclass(obj):
                missing += [f"{module.__name__}.{name}.{attr}" for attr, member in vars(obj).items()
                            if not attr.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
                            and not inspect.getdoc(member)]
    return missing


def test_every_public_name_has_a_docstring():
    assert len(public_modules()) > 20
    assert undocumented() == []


def test_readme_commands_exist():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    used = set(re.findall(r"^\s*(?:.*&& )?fastem (\w+)", readme, flags=re.M))
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"fit", "data", "evaluate", "bench", "plot"} <= subcommands
    assert used and used <= subcommands, used - subcommands
