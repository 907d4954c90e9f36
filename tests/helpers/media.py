"""Small media files as clients send them: PNG images, data URLs and WAV speech."""

from __future__ import annotations

import base64
import io
import math
import random
import struct
import wave

from PIL import Image, ImageDraw


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


def chart(seed: int, size: tuple[int, int] = (400, 300)) -> Image.Image:
    """A line chart with axes, as a figure of a paper looks (white ground, dark strokes)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.line([(40, 20), (40, height - 30), (width - 10, height - 30)], fill="black", width=2)
    points = [(40 + x * (width - 60) // 12, rng.randint(30, height - 40)) for x in range(13)]
    draw.line(points, fill=(rng.randint(0, 200), 40, 160), width=3)
    for x, y in points[:: rng.randint(2, 4)]:
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], outline="black")
    return image
