"""Networking: HTTP with limits and retries, the address guard, podcast feeds."""
