"""Speech recognition engines (the transcribe stage): Whisper in its three forms."""
