"""Engines: one module per engine under one package per kind (asr, llm, voice, lipsync).

Each module defines one class, registered with its kind's registry in
``core.registry``; settings, ``presenter doctor`` and the CLI help read the
registries, so adding an engine is adding a module.
"""
