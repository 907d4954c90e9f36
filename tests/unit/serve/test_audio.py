"""WAV decoding for speech input: channels, rates, widths and limits."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cephalo_ray.serve.audio import AudioLimits, wav_samples
from cephalo_ray.serve.protocol import ApiError
from tests.helpers.media import encoded


def wav(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def test_stereo_8khz_becomes_mono_16khz() -> None:
    left = np.full(8000, 16384, dtype=np.int16)
    stereo = np.stack([left, -left], axis=1).reshape(-1)  # opposite channels average to silence
    samples = wav_samples(wav(stereo, 8000, channels=2), AudioLimits())
    assert samples.dtype == np.float32 and len(samples) == 16000
    assert np.abs(samples).max() < 1e-6
    mono = wav_samples(wav(left, 8000), AudioLimits())
    assert mono.max() == pytest.approx(0.5)


def test_limits_and_bad_audio() -> None:
    one_second = wav(np.zeros(16000, dtype=np.int16), 16000)
    with pytest.raises(ApiError) as long_audio:
        wav_samples(one_second, AudioLimits(max_audio_seconds=0.5))
    assert long_audio.value.status == 413
    with pytest.raises(ApiError) as big:
        wav_samples(one_second, AudioLimits(max_audio_bytes=100))
    assert big.value.status == 413
    with pytest.raises(ApiError) as not_wav:
        wav_samples(b"ID3\x03 mp3 bytes", AudioLimits())
    assert not_wav.value.status == 400


@pytest.mark.parametrize(
    ("codec", "container"),
    [("libopus", "webm"), ("libopus", "ogg"), ("libmp3lame", "mp3"), ("flac", "flac"), ("aac", "mp4")],
)
def test_what_browsers_record_and_users_upload_is_decoded(codec: str, container: str) -> None:
    from cephalo_ray.serve.audio import SAMPLE_RATE, audio_samples

    samples = audio_samples(encoded(codec, container), AudioLimits())
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 2 * SAMPLE_RATE) < 0.1 * SAMPLE_RATE  # 2 s, give or take codec padding
    rms = float(np.sqrt(np.mean(samples**2)))
    assert 0.22 < rms < 0.34  # a 0.4-amplitude tone (RMS 0.28), resampled: not noise, not silence
    with pytest.raises(ApiError) as long_audio:
        audio_samples(encoded(codec, container), AudioLimits(max_audio_seconds=1.0))
    assert long_audio.value.status == 413


def test_garbage_and_broken_headers_are_400_and_long_audio_is_windowed() -> None:
    from cephalo_ray.serve.audio import SAMPLE_RATE, audio_samples, windows

    for garbage in (b"not audio at all" * 50, b"RIFF\x24\x00\x00\x00WAVEfmt "):
        with pytest.raises(ApiError) as bad:
            audio_samples(garbage, AudioLimits())
        assert bad.value.status == 400
    zero_rate = bytearray(wav(np.zeros(100, dtype=np.int16), 16000))
    zero_rate[24:28] = (0).to_bytes(4, "little")  # the header's sample rate
    with pytest.raises(ApiError) as broken:
        audio_samples(bytes(zero_rate), AudioLimits())
    assert broken.value.status == 400 and "0 Hz" in broken.value.message
    seventy_seconds = np.zeros(70 * SAMPLE_RATE, dtype=np.float32)
    assert [len(part) / SAMPLE_RATE for part in windows(seventy_seconds)] == [30, 30, 10]


def test_seventy_seconds_of_mp3_are_transcribed_in_three_windows_and_joined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoded by FFmpeg, then through the real Transcriber and a tiny Whisper: the model hears
    three 30 s windows (the last one 10 s, padded) and the transcript joins what it said for each."""
    from cephalo_ray.models.tiny import build_tiny_whisper
    from cephalo_ray.serve.audio import SAMPLE_RATE, Transcriber, audio_samples

    build_tiny_whisper(tmp_path / "whisper")
    transcriber = Transcriber(str(tmp_path / "whisper"), device="cpu")
    samples = audio_samples(encoded("libmp3lame", "mp3", seconds=70, rate=16_000), AudioLimits())
    assert abs(len(samples) / SAMPLE_RATE - 70) < 0.5
    heard: list[tuple[int, ...]] = []
    hook = transcriber.model.get_encoder().register_forward_pre_hook(
        lambda module, args, kwargs: heard.append(
            tuple((args[0] if args else kwargs["input_features"]).shape)
        ),
        with_kwargs=True,
    )
    said: list[Any] = []
    generate = transcriber.model.generate

    def listened(*args: Any, **kwargs: Any) -> Any:
        tokens = generate(*args, **kwargs)
        said.append(tokens)
        return tokens

    monkeypatch.setattr(transcriber.model, "generate", listened)
    try:
        text = transcriber.transcribe(samples, max_new_tokens=8)
    finally:
        hook.remove()
    assert heard == [(3, 80, 3000)]  # three windows of 30 s in one batch, 80 mel bins each
    windows = [part.strip() for part in transcriber.processor.batch_decode(said[0], skip_special_tokens=True)]
    assert len(windows) == 3 and all(windows)  # every window was transcribed
    assert text == " ".join(windows)
