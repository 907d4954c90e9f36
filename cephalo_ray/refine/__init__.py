"""Pairs -> grounded instruction data: prompts, reply parsing, the rate governor and the Ray stage."""
