"""Small media files as clients send them: PNG images, data URLs and WAV speech."""

from __future__ import annotations

import base64
import io
import math
import struct
import wave

from PIL import Image


def png_bytes(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def wav_bytes(seconds: float, rate: int = 16_000, frequency: float = 440.0) -> bytes:
    """A sine tone as 16-bit PCM WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * frequency * n / rate)))
            for n in range(int(seconds * rate))
        )
        writer.writeframes(frames)
    return buffer.getvalue()


def encoded(codec: str, container: str, seconds: float = 2.0, rate: int = 48_000) -> bytes:
    """A 440 Hz tone encoded by FFmpeg as a browser (webm/ogg opus) or an upload (mp3, flac, m4a) has it."""
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout="mono")
        tone = (0.4 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
        step = 960
        for start in range(0, len(tone), step):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + step], format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()
