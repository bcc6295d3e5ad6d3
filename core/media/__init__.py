"""Media: FFmpeg, audio reading and writing, signal processing and subtitles; it reads no settings (the encoder constants live here)."""
