"""WAV decoding for speech input: channels, rates, widths and limits."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from cephalo_ray.serve.audio import AudioLimits, wav_samples
from cephalo_ray.serve.protocol import ApiError


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
