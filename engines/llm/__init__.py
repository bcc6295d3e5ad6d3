"""Summary engines (the summarize stage): OpenAI-compatible endpoints, the embedded llama.cpp server, extractive."""
