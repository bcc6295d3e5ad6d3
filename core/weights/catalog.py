"""The one catalog of weights: what the engines declare, looked up by name, and what the chosen engines still lack."""

from __future__ import annotations

from typing import Any

from core.registry import ANIMATORS, REGISTRIES, TRANSCRIBERS, VOICES, Weight, WeightsError

from .pull import gguf_weight


def all_weights() -> list[Weight]:
    """Every weight the engines declare, each once, in registry order."""
    found = {weight.name: weight for registry in REGISTRIES for engine in registry.engines() for weight in engine.weights}
    return list(found.values())


def weight_named(name: str, sha256: str | None = None) -> Weight:
    """A declared weight by name, or a GGUF file by URL ('gguf:https://…/model.gguf', ``sha256`` optional)."""
    if name.startswith("gguf:") and "://" in name:
        return gguf_weight(name.removeprefix("gguf:"), sha256)
    known = {w.name: w for w in all_weights()}
    if name not in known:
        raise WeightsError(f"No weights are called {name!r}.", f"Run 'presenter weights list'; known: {', '.join(known)}.")
    return known[name]


def required(settings: Any) -> list[Weight]:
    """The pullable weights the chosen engines need with these settings and the cache lacks (transcription, voices, lip sync)."""
    chosen = [(TRANSCRIBERS, settings.transcribe, [settings.transcribe.engine]), (VOICES, settings.narrate, settings.narrate.engines), (ANIMATORS, settings.lipsync, [settings.lipsync.engine])]
    needed = {weight.name: weight for registry, section, names in chosen for name in names for weight in registry.get(name).needs(section)}
    return [weight for weight in needed.values() if not weight.installed(settings.cache_dir)]
