"""Load or build vision-language models: family facts, the loader, LLaVA assembly, tiny models."""
