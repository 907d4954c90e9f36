"""PDF -> figures, captions, pairs and crops: pure functions (`document`, `captions`), the killable
parser process (`sandbox`) and the Ray adapter (`stage`)."""
