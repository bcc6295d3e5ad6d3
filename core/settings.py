"""Every knob of the pipeline in one typed object.

Values come, highest priority first, from keyword arguments, environment
variables (``PRESENTER_`` prefix, ``__`` between section and field, e.g.
``PRESENTER_TRANSCRIBE__ENGINE=openai-whisper``), a TOML config file
(``PRESENTER_CONFIG`` or ``./presenter.toml``), then the defaults below.

Each engine kind's section (transcribe, summarize, narrate, lipsync) holds
the knobs its engines share; each engine's own knobs sit in a sub-section
named after it (``[narrate.paddlespeech]``, ``PRESENTER_LIPSYNC__PADDLEGAN__CHECKPOINT``),
typed by the engine's module and checked against the engine registry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .context import Context, OpenAISettings
from .media.ffmpeg import X264_PARAMS, X264_PRESET
from .registry import ANIMATORS, DIARIZERS, SUMMARIZERS, TRANSCRIBERS, VOICES, EngineSettings, Registry, section_key

STAGES = ("fetch", "split", "transcribe", "diarize", "summarize", "narrate", "lipsync", "compose")
Stage = Literal["fetch", "split", "transcribe", "diarize", "summarize", "narrate", "lipsync", "compose"]


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "podcast-presenter"


class EngineSection(BaseModel):
    """A kind's section: shared knobs as fields, and one sub-section per engine that has its own."""

    model_config = ConfigDict(extra="allow")
    registry: ClassVar[Registry]

    @model_validator(mode="after")
    def _engine_sections(self) -> EngineSection:
        extra = self.__pydantic_extra__ or {}
        for key, value in list(extra.items()):
            engine = self.registry.by_key(key)
            if engine is None:
                raise ValueError(f"{key!r} is neither a setting of [{self.registry.kind}] nor one of its engines ({', '.join(self.registry.names())})")
            extra[key] = value if isinstance(value, engine.Settings) else engine.Settings.model_validate(value)
        return self

    def options(self, name: str) -> Any:
        """The typed settings of engine ``name`` (its defaults when its sub-section is absent)."""
        engine = self.registry.get(name)
        value = (self.__pydantic_extra__ or {}).get(section_key(name))
        return value if value is not None else engine.Settings()

    @field_validator("engine", check_fields=False)
    @classmethod
    def _check_engine(cls, value: str) -> str:
        """A section's single ``engine`` must be one its registry knows."""
        return cls._known(value)

    @classmethod
    def _known(cls, name: str) -> str:
        try:
            cls.registry.get(name)
        except ValueError as error:
            raise ValueError(str(error)) from None
        return name


class FetchSettings(BaseModel):
    connect_timeout: float = Field(10.0, description="Seconds to wait for a TCP/TLS connection.")
    read_timeout: float = Field(30.0, description="Seconds to wait for the next bytes of a response.")
    max_bytes: int = Field(1_000_000_000, description="Largest audio download accepted, in bytes.")
    max_feed_bytes: int = Field(20_000_000, description="Largest feed document accepted, in bytes.")
    attempts: int = Field(4, ge=1, description="Tries per request before giving up.")
    backoff_seconds: float = Field(1.0, ge=0, description="First retry delay; doubles each retry.")
    user_agent: str = "podcast-presenter/0.1 (+offline digest tool)"
    guard: bool | None = Field(
        None,
        description="Refuse loopback, private, link-local and cloud-metadata addresses, after DNS and on every redirect. "
        "Unset: on for 'watch' and 'serve' (feeds written by others), off for 'run'.",
    )
    allow: list[str] = Field([], description="What the guard lets through: host names (exact) or networks in CIDR form (10.0.0.0/8).")
    deadline_seconds: float = Field(3600.0, gt=0, description="Longest one transfer (a feed, an episode) may take in all, response headers included.")
    header_seconds: float = Field(15.0, gt=0, description="Longest wait from a request to the end of its response headers (a server that drips them).")
    retry_seconds: float = Field(30.0, ge=0, description="No retry starts once this long has passed since the first try of a request.")
    min_bytes_per_second: float = Field(1024.0, ge=0, description="Slowest average a transfer may keep over rate_window_seconds.")
    rate_window_seconds: float = Field(60.0, gt=0, description="Window over which the minimum rate is measured.")
    max_redirects: int = Field(10, ge=0, description="Redirect hops followed before giving up.")


class SplitSettings(BaseModel):
    chunk_seconds: float = Field(300.0, gt=10, description="Target chunk length.")
    search_seconds: float = Field(20.0, gt=0, description="How far around a boundary to look for a pause.")
    silence_dbfs: float = Field(-55.0, description="A chunk whose loudest 50 ms is quieter than this is silent.")


class TranscribeSettings(EngineSection):
    registry = TRANSCRIBERS
    engine: str = Field("faster-whisper", description="Speech recognition engine (presenter doctor lists them).")
    model: str = Field(
        "base",
        description="'base' (multilingual) or 'tiny.en' (shipped); tiny, small, medium, large-v3 or turbo once pulled "
        "('presenter weights pull faster-whisper:small' or 'whisper:small'); or a path: a CTranslate2 directory for "
        "faster-whisper, a .pt checkpoint for openai-whisper.",
    )
    threads: int = Field(0, ge=0, description="CPU threads per model; 0 = all cores.")
    workers: int = Field(1, ge=1, description="Chunks transcribed at once (each uses `threads`).")
    chinese_script: Literal["simplified", "traditional", "original"] = Field(
        "simplified", description="Whisper often writes Mandarin in traditional characters; Chinese transcripts are converted to this script."
    )


class DiarizeSettings(EngineSection):
    registry = DIARIZERS
    enabled: bool = Field(True, description="Tell the speakers apart and label every transcript segment with one.")
    engine: str = Field("campplus", description="Speaker embedding engine (presenter doctor lists them).")
    speakers: int = Field(0, ge=0, le=20, description="How many people speak; 0 finds out.")
    threshold: float = Field(0.42, gt=0, lt=2, description="Average cosine distance under which two voices are one speaker (higher merges more).")
    min_turn: float = Field(1.0, ge=0, description="A turn shorter than this (seconds) joins its neighbours: music beds and overlaps make no speaker.")
    min_speaker_seconds: float = Field(3.0, ge=0, description="A voice heard for less than this (seconds) joins the nearest speaker when merge_distance allows.")
    min_speaker_share: float = Field(0.05, ge=0, lt=1, description="A voice heard for less than this share of the speech joins the nearest speaker when merge_distance allows.")
    merge_distance: float = Field(
        0.6, gt=0, lt=2, description="Average cosine distance under which a voice with little talk time joins its nearest speaker (above: it stays a speaker)."
    )
    threads: int = Field(0, ge=0, description="CPU threads; 0 = all cores.")


class SummarizeSettings(EngineSection):
    registry = SUMMARIZERS
    engines: list[str] | None = Field(
        None,
        description="Engines to try in order when one is unavailable. Default: openai first if an "
        "endpoint or key is configured, then embedded, then extractive.",
    )
    language: str | None = Field(None, description="Language of the summary and script; default: the episode's.")
    target_seconds: float = Field(75.0, gt=5, description="Speaking time the narration script aims at.")
    context_tokens: int = Field(8192, ge=1024, description="Context window used for map and reduce calls.")
    part_tokens: int = Field(3000, ge=200, description="Transcript tokens per map call (smaller: finer notes, more calls).")
    max_tokens: int = Field(1536, ge=200, description="Longest reply per call (a Chinese digest takes about 1,000 tokens).")
    temperature: float = 0.2
    seed: int | None = Field(0, description="Sampling seed: the same transcript gives the same summary.")
    min_words: int = Field(12, ge=1, description="Shorter transcripts are refused instead of summarized.")
    resample: int = Field(3, ge=0, description="Times a script sentence that fails the verifier is sampled again before reported speech replaces it.")
    read_budget: float = Field(
        1.8, gt=0,
        description="The model reads at most this many times the transcript's tokens (a transcript under 6,000 tokens counted as 6,000: "
        "a short episode's prompts are mostly instructions); past it the script's further sentences are not asked of it. "
        "1.3 holds an hour to about one reading, but its script is then mostly reported speech (see README, Benchmarks).",
    )
    write_budget: int = Field(2500, ge=0, description="Tokens the model writes at most for one episode; past it the script's further sentences are not asked of it.")
    soundbites: int | None = Field(
        None, ge=0, le=6,
        description="Soundbites (5-15 s of the episode's own voices, each after a link line naming the speaker) in the digest; "
        "default: 2 for episodes of 3 minutes or more, 1 for shorter ones; 0 turns them off.",
    )

    @field_validator("engines")
    @classmethod
    def _check_engines(cls, value: list[str] | None) -> list[str] | None:
        return [cls._known(name) for name in value] if value is not None else None


class NarrateSettings(EngineSection):
    registry = VOICES
    engines: list[str] = Field(
        ["kokoro", "embedded", "espeak"],
        description="Voices in order of preference; each sentence (or each stretch of one script) goes to the first that is available and speaks its language.",
    )
    sample_rate: int = Field(24_000, ge=8_000, description="Sample rate of narration.wav.")
    loudness_lufs: float = Field(-16.0, le=-5, description="Integrated loudness of narration.wav.")
    speed: float = Field(1.0, gt=0.3, lt=3.0, description="Speaking rate (1.0 = the voice's own).")
    threads: int = Field(2, ge=1, description="CPU threads per voice model.")

    @field_validator("engines")
    @classmethod
    def _check_engines(cls, value: list[str]) -> list[str]:
        return [cls._known(name) for name in value]


class LipsyncSettings(EngineSection):
    registry = ANIMATORS
    engine: str = Field("embedded", description="'embedded' (landmark-driven animator) or 'paddlegan' (Wav2Lip).")
    portrait: Path | None = Field(None, description="Photo of the presenter; default: assets/portrait/astronaut.png.")
    fps: int = Field(25, ge=10, le=60)
    crf: int = Field(18, ge=0, le=51, description="H.264 quality of the intermediate lipsync.mp4 (lower is better; 18 looks lossless).")


class ComposeSettings(BaseModel):
    height: Literal[720, 1080] = Field(720, description="Video height; width is 16:9.")
    subtitles: Literal["burn", "soft", "none"] = Field("burn", description="Burned into the picture, a soft subtitle track, or none.")
    title_seconds: float = Field(4.0, ge=0, description="How long the title card shows at the start.")
    crf: int = Field(21, ge=0, le=51, description="H.264 quality (lower is better, bigger).")
    preset: str = Field(X264_PRESET, description="x264 preset: speed against file size.")
    x264_params: str = Field(X264_PARAMS, description="Extra x264 options; the default adds veryfast's bit allocation (mb-tree) to superfast: 1.5x veryfast's speed, about 6 % more bytes.")
    background: str = Field("#1d2330", description="Colour around the square presenter picture.")


class WatchSettings(BaseModel):
    feeds: list[str] = Field([], description="Feeds to watch (URLs or local feed files).")
    feeds_file: Path | None = Field(None, description="A text file of feeds, one per line ('#' starts a comment).")
    newest: int = Field(3, ge=1, description="On a feed's first run, only its newest N episodes; the back catalogue is skipped.")
    concurrency: int = Field(1, ge=1, description="Episodes processed at once.")
    max_attempts: int = Field(3, ge=1, description="A failing episode is retried on later runs until it has failed this often.")
    cron: str = Field("0 6 * * *", description="Schedule of the feed watch (cron, in `timezone`).")
    timezone: str = "UTC"
    title: str = Field("Podcast digests", description="Title of outputs/feed.xml and outputs/index.html.")
    base_url: str | None = Field(None, description="Where outputs/ is served (for absolute links in feed.xml); default: file:// URLs.")
    terms: dict[str, list[str]] = Field({}, description="Names and terms of each feed (by feed URL), added to its episodes' glossary.")
    catalog_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the catalog (done episodes, feed hosts' voices); default: a SQLite file in the output folder. "
        "On many machines, a PostgreSQL database every worker reaches (postgresql+psycopg://user@host/presenter).",
    )
    deployment: str | None = Field(
        None,
        description="Digest each new episode as a run of this Prefect deployment ('podcast-digest/digest'), taken by any worker of "
        "its pool on any machine; default: in the watch's own process.",
    )
    wait_seconds: float = Field(21_600.0, ge=0, description="With a deployment: how long a watch run follows the runs it started; the next watch run picks up the rest.")
    crash_after_seconds: int = Field(
        90, ge=60,
        description="With a deployment: a running digest whose heartbeats (every PREFECT_FLOWS_HEARTBEAT_FREQUENCY, at least 30 s) stop this long is marked crashed, and started again.",
    )


class RunnerSettings(BaseModel):
    kind: Literal["threads", "dask"] = Field("threads", description="Where mapped work (chunk transcription) runs: a thread pool, or Dask.")
    dask_address: str | None = Field(None, description="An existing Dask scheduler (tcp://host:8786); None starts a local cluster.")
    dask_workers: int = Field(2, ge=1, description="Workers of the local Dask cluster.")


class WeightsSettings(BaseModel):
    """Weights fetched on request ('presenter weights pull'): nothing downloads unless asked."""

    mirror: str | None = Field(None, description="Base URL of a site that hosts the upstream files under the same paths (inside your network); proxies come from HTTPS_PROXY.")
    auto_pull: bool = Field(False, description="Pull the weights the chosen engines lack before a run (as 'presenter run --pull').")
    attempts: int = Field(3, ge=1, description="Tries per file before giving up (a partial file resumes).")
    max_bytes: int = Field(8_000_000_000, description="Largest single weights file accepted, in bytes.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PRESENTER_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    output_dir: Path = Field(Path("outputs"), description="Where per-episode folders are written.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Assembled model weights.")
    language: str | None = Field(None, description="Force a language code (en, zh, ...); None detects.")
    terms: list[str] = Field([], description="Names and terms to spell right in every episode (Whisper's prompt and hotwords, repairs, the summary).")
    terms_file: Path | None = Field(None, description="A text file of such terms, one per line ('#' starts a comment).")
    fetch: FetchSettings = FetchSettings()
    split: SplitSettings = SplitSettings()
    transcribe: TranscribeSettings = TranscribeSettings()
    diarize: DiarizeSettings = DiarizeSettings()
    summarize: SummarizeSettings = SummarizeSettings()
    narrate: NarrateSettings = NarrateSettings()
    lipsync: LipsyncSettings = LipsyncSettings()
    compose: ComposeSettings = ComposeSettings()
    watch: WatchSettings = WatchSettings()
    runner: RunnerSettings = RunnerSettings()
    weights: WeightsSettings = WeightsSettings()
    openai: OpenAISettings = OpenAISettings()

    @field_validator("output_dir", "cache_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return Path(value).expanduser()

    def user_terms(self, feed: str | None = None) -> list[str]:
        """The user's terms for an episode: settings, the terms file, and the feed's own list in [watch.terms]."""
        terms = list(self.terms)
        if self.terms_file:
            path = Path(self.terms_file).expanduser()
            if not path.is_file():
                from .errors import PresenterError

                raise PresenterError(f"The terms file {path} does not exist.", "Set PRESENTER_TERMS_FILE (or --terms-file) to a text file with one name or term per line.")
            terms += [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
        if feed:
            terms += self.watch.terms.get(feed, [])
        return [t for t in terms if t]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = os.environ.get("PRESENTER_CONFIG", "presenter.toml")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config)
        return init_settings, env_settings, toml

    @property
    def context(self) -> Context:
        """What engines share: the weights cache and the OpenAI-compatible connection."""
        return Context(cache_dir=self.cache_dir, openai=self.openai)


__all__ = ["Settings", "EngineSettings", "STAGES"]
