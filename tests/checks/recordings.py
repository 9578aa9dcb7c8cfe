"""Microphone recordings for the tests (no sound card exists here; see fixtures/audio)."""

from __future__ import annotations

import io
import math
import random
import struct
import wave

from agent.checks.audio_loopback import RATE, TONE_HZ


def mic_wav(
    seconds: float, *, tone_db: float | None, noise_db: float = -55, seed: int = 3
) -> bytes:
    """Mono 16-bit WAV: a fan's 50 Hz hum and hiss, plus the 1 kHz tone at ``tone_db``
    during the middle two thirds (the left and the right tone)."""
    rng = random.Random(seed)
    hum = 10 ** (-40 / 20)
    hiss = 10 ** (noise_db / 20)
    tone = 10 ** (tone_db / 20) if tone_db is not None else 0.0
    count = int(RATE * seconds)
    out = bytearray()
    for i in range(count):
        x = hum * math.sin(2 * math.pi * 50 * i / RATE) + rng.gauss(0, hiss)
        if tone and count / 6 <= i < count * 5 / 6:
            x += tone * math.sin(2 * math.pi * TONE_HZ * i / RATE + 0.4)
        out += struct.pack("<h", max(-32768, min(32767, int(x * 32767))))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(out))
    return buffer.getvalue()
