"""WAV decoding for speech input: channels, rates, widths and limits."""

from __future__ import annotations

import io
import wave

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
