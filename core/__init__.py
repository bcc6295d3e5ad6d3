"""The kernel: errors, text rules, logs, the episode folder and its typed files, settings, the glossary, the engine registry and
the engine context; beside it the domain packages net/, media/, weights/ and publish/."""
