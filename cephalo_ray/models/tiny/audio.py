"""Tiny Whisper for the speech-to-text route: its feature extractor and a tokenizer with Whisper's
special tokens."""

from __future__ import annotations

from typing import Any

from cephalo_ray.models.tiny.text import train_tokenizer

WHISPER_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|transcribe|>",
    "<|translate|>",
    "<|notimestamps|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
]


def build_whisper() -> tuple[Any, Any]:
    """A tiny random Whisper (80 mel bins, 30 s windows) and its processor, as
    `AutoModelForSpeechSeq2Seq` / `AutoProcessor` load them once saved."""
    import tempfile

    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    with tempfile.TemporaryDirectory() as scratch:
        train_tokenizer(WHISPER_SPECIAL_TOKENS).save_pretrained(scratch)
        tokenizer = WhisperTokenizer.from_pretrained(scratch)
    start = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=448,
        decoder_start_token_id=start,
        eos_token_id=end,
        pad_token_id=end,
        bos_token_id=end,
        begin_suppress_tokens=[end],  # as real Whisper: a transcript never starts by ending
        suppress_tokens=[tokenizer.convert_tokens_to_ids(token) for token in WHISPER_SPECIAL_TOKENS[2:]],
    )
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config.no_timestamps_token_id = tokenizer.convert_tokens_to_ids("<|notimestamps|>")
    model.generation_config.forced_decoder_ids = None
    processor = WhisperProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer
    )
    return model, processor
