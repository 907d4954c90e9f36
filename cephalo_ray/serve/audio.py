"""Speech in: audio decoded (WAV directly; mp3, m4a, ogg, webm, flac, what browsers record and
OpenAI's API takes, through FFmpeg by PyAV), checked against size and duration limits, and
transcribed by a Whisper model in 30 s windows (a real checkpoint by name or folder, a tiny one in
tests). The transcript then joins the chat prompt as text, as the ERA multimodal Phi-2 project feeds
speech to its model.
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
import wave
from dataclasses import dataclass
from typing import Any

from cephalo_ray.serve.protocol import ApiError

SAMPLE_RATE = 16_000
WINDOW_SECONDS = 30  # Whisper hears 30 s at a time; longer audio is transcribed window by window
FORMATS = ("wav", "mp3", "m4a", "mp4", "ogg", "oga", "webm", "flac", "aac", "opus")
UNDECODABLE = f"audio could not be decoded (send {', '.join(FORMATS)})"


@dataclass(frozen=True)
class AudioLimits:
    max_audio_bytes: int = 25 * 1024**2
    max_audio_seconds: float = 600.0


def decode_base64_audio(data: str, limits: AudioLimits) -> bytes:
    if len(data) * 3 // 4 > limits.max_audio_bytes:
        raise ApiError(413, f"audio is larger than {limits.max_audio_bytes} bytes", param="messages")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "input_audio.data is not valid base64", param="messages") from None


def audio_samples(data: bytes, limits: AudioLimits) -> Any:
    """Mono float32 samples at 16 kHz from encoded audio of any format FFmpeg reads.

    Raises:
        ApiError: 400 for bytes that are not audio, 413 above the size or duration limit.
    """
    if len(data) > limits.max_audio_bytes:
        raise ApiError(413, f"audio is larger than {limits.max_audio_bytes} bytes", param="file")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return wav_samples(data, limits)
    return decoded_samples(data, limits)


def decoded_samples(data: bytes, limits: AudioLimits) -> Any:
    """Decode through FFmpeg (PyAV), resampled to mono float32 at 16 kHz, stopping at the limit."""
    import av
    import numpy as np

    chunks: list[Any] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise ApiError(400, f"no audio stream: {UNDECODABLE}", param="file")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                for resampled in resampler.resample(frame):
                    chunk = resampled.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > limits.max_audio_seconds * SAMPLE_RATE:
                    raise ApiError(
                        413, f"audio lasts more than {limits.max_audio_seconds:.0f} s", param="file"
                    )
            for resampled in resampler.resample(None):
                chunks.append(resampled.to_ndarray().reshape(-1))
    except ApiError:
        raise
    except (av.error.FFmpegError, ValueError, OSError):
        raise ApiError(400, UNDECODABLE, param="file") from None
    if not chunks:
        raise ApiError(400, f"no audio samples: {UNDECODABLE}", param="file")
    return np.concatenate(chunks).astype(np.float32)


def windows(samples: Any, seconds: int = WINDOW_SECONDS) -> list[Any]:
    """Consecutive windows of at most `seconds` (the last shorter); none for empty audio."""
    size = seconds * SAMPLE_RATE
    return [samples[start : start + size] for start in range(0, len(samples), size)]


def wav_samples(data: bytes, limits: AudioLimits) -> Any:
    """Mono float32 samples at 16 kHz from WAV bytes (PCM 8/16/32-bit, any rate, any channels).

    Raises:
        ApiError: 400 for audio that is not PCM WAV, 413 above the size or duration limit.
    """
    import numpy as np

    if len(data) > limits.max_audio_bytes:
        raise ApiError(413, f"audio is larger than {limits.max_audio_bytes} bytes", param="file")
    try:
        with wave.open(io.BytesIO(data)) as reader:
            channels, width, rate, frames = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
                reader.getnframes(),
            )
            if rate <= 0 or channels <= 0:
                raise ApiError(400, f"the WAV header says {rate} Hz and {channels} channels", param="file")
            if frames / rate > limits.max_audio_seconds:
                raise ApiError(
                    413,
                    f"audio lasts {frames / rate:.0f} s, more than {limits.max_audio_seconds:.0f} s",
                    param="file",
                )
            raw = reader.readframes(frames)
    except (wave.Error, EOFError):
        raise ApiError(400, "audio must be PCM WAV (format: wav)", param="file") from None
    kinds = {1: (np.uint8, 128.0, 128.0), 2: (np.int16, 0.0, 32768.0), 4: (np.int32, 0.0, 2147483648.0)}
    if width not in kinds:
        raise ApiError(400, f"WAV samples of {width * 8} bits are not supported (8, 16 or 32)", param="file")
    dtype, offset, scale = kinds[width]
    samples = (np.frombuffer(raw, dtype=dtype).astype(np.float32) - offset) / scale
    samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE and len(samples):
        duration = len(samples) / rate
        target = np.linspace(0, duration, int(duration * SAMPLE_RATE), endpoint=False)
        samples = np.interp(target, np.arange(len(samples)) / rate, samples).astype(np.float32)
    return samples


class Transcriber:
    """A Whisper model and its processor; `transcribe` is thread-safe (one at a time)."""

    def __init__(self, name_or_path: str, device: str | None = None, storage: Any = None) -> None:
        import torch
        from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor

        from cephalo_ray.models.loader import local_model_dir

        folder = local_model_dir(name_or_path, storage)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = AutoModelForSpeechSeq2Seq.from_pretrained(folder).to(self.device).eval()
        self.processor = AutoProcessor.from_pretrained(folder)
        self.lock = threading.Lock()

    def transcribe(self, samples: Any, max_new_tokens: int = 128, language: str | None = None) -> str:
        """The transcript of all of `samples`, 30 s window by window (`max_new_tokens` per window)."""
        import torch

        parts = windows(samples)
        if not parts:
            return ""
        features = self.processor(parts, sampling_rate=SAMPLE_RATE, return_tensors="pt")["input_features"]
        options: dict[str, Any] = {"max_new_tokens": max_new_tokens}
        if language:
            options["language"] = language
        with self.lock, torch.no_grad():
            tokens = self.model.generate(features.to(self.device, self.model.dtype), **options)
        texts = [text.strip() for text in self.processor.batch_decode(tokens, skip_special_tokens=True)]
        return " ".join(text for text in texts if text)
