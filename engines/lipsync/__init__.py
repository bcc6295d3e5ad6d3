"""Lip-sync engines (the lipsync stage): the portrait brought to life, speaking the narration."""
