"""The per-episode folder: safe naming, atomic writes, content hashes, the manifest."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import os_error

MANIFEST = "manifest.json"
_TEMPORARY = re.compile(r"^\..+\.(?:(?P<pid>\d+)-)?[a-z0-9_]+\.tmp$")  # atomic_path's: .<name>.<writer's pid>-<random>.tmp


def slugify(text: str, max_length: int = 60) -> str:
    """A file-name-safe slug that keeps letters of any script (Chinese titles stay readable): python-slugify, underscores kept."""
    from slugify import slugify as slug_of

    return slug_of(text, allow_unicode=True, max_length=max_length, regex_pattern=r"[^\w]+").strip("-_") or "episode"


def episode_dir(output_dir: Path, key: str, title: str) -> Path:
    """The one folder of an episode: ``<slug>-<hash of key>``, always directly under output_dir."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    root = Path(output_dir).resolve()
    folder = (root / f"{slugify(title)}-{digest}").resolve()
    if folder.parent != root:  # defence in depth; slugify already removes separators and dots
        raise ValueError(f"episode folder {folder} escapes {root}")
    return folder


def file_digest(path: Path, algorithm: str = "sha256", block: int = 1 << 20) -> str:
    """The hex digest of a file, read a block at a time (model weights are gigabytes)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    The result gets the permissions a plain ``open()`` would give (0666 less the
    umask), so published files can be served by a web server of another user.
    The temporary name carries the writing process's id, so that one a killed
    run left behind can be told from one being written (``remove_stale_temporaries``).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise os_error(error, path, "writing") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise os_error(error, path, "writing") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def process_running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its parent does not)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files of ``atomic_path`` that killed runs left in ``folder`` and its subfolders; returns them.

    One whose writer is still running (its process id in the name) is left
    alone, so a run beside this one loses nothing; one without an id is from
    an older version, and stale.
    """
    removed = []
    for path in sorted([*Path(folder).glob(".*.tmp"), *Path(folder).glob("*/.*.tmp")]):
        match = _TEMPORARY.match(path.name)
        if not match or path.is_dir() or (match["pid"] and process_running(int(match["pid"]))):
            continue
        try:
            path.unlink()
        except OSError:  # gone meanwhile, or not ours to remove: it blocks nothing
            continue
        removed.append(path)
    return removed


def write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_stage(folder: Path, stage: str, record: dict[str, Any]) -> None:
    """Merge one stage's record (outputs, engine, model, seconds...) into manifest.json.

    Outputs inside the folder are stored relative to it, so the folder can be moved.
    """
    folder = Path(folder).resolve()
    path = folder / MANIFEST
    outputs = []
    for output in record.get("outputs", []):
        resolved = Path(output).resolve() if Path(output).is_absolute() else folder / output
        outputs.append(str(resolved.relative_to(folder)) if resolved.is_relative_to(folder) else str(resolved))
    manifest = read_json(path) if path.exists() else {"stages": {}}
    manifest.setdefault("stages", {})[stage] = {**record, "outputs": outputs, "recorded_at": now_iso()}
    manifest["updated_at"] = now_iso()
    write_json(path, manifest)


def record_episode(folder: Path, episode: dict[str, Any]) -> None:
    path = Path(folder) / MANIFEST
    manifest = read_json(path) if path.exists() else {"stages": {}}
    manifest["episode"] = episode
    manifest["updated_at"] = now_iso()
    write_json(path, manifest)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    return read_json(path) if path.exists() else {"stages": {}}
