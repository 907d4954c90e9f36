"""Serving: the OpenAI protocol, the batching generation engine, and the Ray Serve app."""
