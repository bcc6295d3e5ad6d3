"""Voices (the narrate stage): each speaks runs of text in the languages it declares."""
