"""Speakers and microphone in one go: a tone left, a tone right, and the microphone listens.

The station plays a 1 kHz tone on the left speaker, then on the right
(``aplay``, the tone made here as a WAV and fed on stdin), while ``arecord``
records the built-in microphone. Before that, one second of silence gives the
noise floor. The tone's level is measured at its own frequency (Goertzel), so
a fan's hum does not count as hearing it: the microphone works when the tone
stands ``MIC_MARGIN_DB`` above the floor. The volunteer only says whether they
heard both tones (one key): no second person is needed.

A recording of pure digital silence (every sample exactly zero) measures
nothing: a real microphone always hears some noise, so the input is muted or
not connected to anything (a virtual machine's sound card). That is "not
measurable", never a working microphone. An unattended run (nobody listens)
records what the station measured and leaves the rest unjudged.
"""

from __future__ import annotations

import io
import math
import struct
import threading
import time
import wave
from dataclasses import dataclass
from typing import Literal

from agent.errors import DigibenchError
from agent.report.schema import TestOutcome, TestResult
from agent.runner import CommandResult, Runner

RATE = 48_000
TONE_HZ = 1000.0
TONE_S = 1.0
#: seconds of silence that give the noise floor
FLOOR_S = 1
#: the recording while both tones play (with room to start)
LISTEN_S = 3
#: how far above the floor the tone must stand for the microphone to count (dB)
MIC_MARGIN_DB = 10.0
SILENCE_DB = -120.0

Channel = Literal["left", "right"]
MicVerdict = Literal["ok", "silent", "unmeasurable", "no_recording"]


def tone_wav(channel: Channel, seconds: float = TONE_S, amplitude: float = 0.5) -> bytes:
    """A stereo 16-bit WAV with the tone on one channel and silence on the other."""
    frames = bytearray()
    count = int(RATE * seconds)
    for i in range(count):
        ramp = min(1.0, i / 480, (count - i) / 480)  # 10 ms fades: no clicks
        value = int(32767 * amplitude * ramp * math.sin(2 * math.pi * TONE_HZ * i / RATE))
        left, right = (value, 0) if channel == "left" else (0, value)
        frames += struct.pack("<hh", left, right)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(frames))
    return out.getvalue()


def samples(wav_bytes: bytes) -> list[float]:
    """The first channel of a 16-bit WAV as floats in -1..1; ValueError when unreadable."""
    try:
        with wave.open(io.BytesIO(wav_bytes), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise ValueError("not a 16-bit recording")
            channels = wav.getnchannels()
            raw = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"unreadable recording: {exc}") from exc
    values = struct.unpack(f"<{len(raw) // 2}h", raw[: len(raw) // 2 * 2])
    return [v / 32768 for v in values[::channels]]


def tone_level_db(signal: list[float], hz: float = TONE_HZ, rate: int = RATE) -> float:
    """Power at ``hz`` (Goertzel), in dB relative to a full-scale sine."""
    if not signal:
        return SILENCE_DB
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in signal:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    amplitude = 2 * math.sqrt(max(power, 0.0)) / len(signal)
    return 20 * math.log10(amplitude) if amplitude > 1e-6 else SILENCE_DB


@dataclass(frozen=True)
class Loopback:
    """What one tone-and-listen round found."""

    played: bool
    floor_db: float | None = None
    tone_db: float | None = None
    error: str | None = None
    #: a recording was all exact zeros: no input signal at all, so no floor or no level
    digital_silence: bool = False

    @property
    def mic(self) -> MicVerdict:
        if self.floor_db is None or self.tone_db is None:
            return "no_recording"
        if self.digital_silence:
            return "unmeasurable"
        return "ok" if self.tone_db - self.floor_db >= MIC_MARGIN_DB else "silent"

    def detail(self) -> str:
        speakers = "tones played" if self.played else f"no sound played ({self.error})"
        if self.mic == "no_recording":
            return f"{speakers}; microphone: no recording ({self.error})"
        if self.mic == "unmeasurable":
            return f"{speakers}; microphone: not measurable (the recording is digital silence)"
        return (
            f"{speakers}; microphone: tone {self.tone_db:.0f} dB, "
            f"floor {self.floor_db:.0f} dB ({self.mic})"
        )

    def result(self, heard: bool | None, silent: Channel | None = None) -> TestResult:
        """The audio test: the operator heard both tones and the microphone picked them up.
        ``silent``: the operator heard one side only; the other speaker is dead (a fail)."""
        if silent is not None:
            detail = f"{self.detail()}; operator: {silent} speaker silent"
            return TestResult(name="audio", outcome=TestOutcome.FAIL, details=detail)
        if heard is None:
            outcome = TestOutcome.SKIPPED
        elif heard and self.played and self.mic == "ok":
            outcome = TestOutcome.PASS
        else:
            outcome = TestOutcome.FAIL
        detail = self.detail() + ("; operator: not heard" if heard is False else "")
        return TestResult(name="audio", outcome=outcome, details=detail)

    def unattended(self) -> TestResult:
        """Nobody listened: no sound played, or a microphone that recorded but did not hear
        the tones, fails; otherwise the speakers are not judged (skipped, with what was
        measured), even when the microphone heard them: left and right were not confirmed."""
        failed = not self.played or self.mic in ("silent", "no_recording")
        outcome = TestOutcome.FAIL if failed else TestOutcome.SKIPPED
        detail = f"{self.detail()}; unattended run: nobody listened"
        return TestResult(name="audio", outcome=outcome, details=detail)


def record_argv(seconds: int) -> list[str]:
    """``arecord`` of the default capture device, mono 16-bit WAV on stdout."""
    return [
        "arecord",
        "-q",
        "-f",
        "S16_LE",
        "-r",
        str(RATE),
        "-c",
        "1",
        "-d",
        str(seconds),
        "-t",
        "wav",
    ]


PLAY_ARGV = ["aplay", "-q", "-"]


def loopback(runner: Runner, *, lead_in: float = 0.3) -> Loopback:
    """Measure the floor, then play left and right while recording; never raises."""
    try:
        floor = runner.run(record_argv(FLOOR_S), timeout=FLOOR_S + 10)
        recording: list[CommandResult] = []

        def listen() -> None:
            recording.append(runner.run(record_argv(LISTEN_S), timeout=LISTEN_S + 10))

        listener = threading.Thread(target=listen, name="arecord", daemon=True)
        listener.start()
        time.sleep(lead_in)  # arecord opens the device before the first tone starts
        played = [
            runner.run(PLAY_ARGV, input=tone_wav(side), timeout=TONE_S + 10)
            for side in ("left", "right")
        ]
        listener.join(LISTEN_S + 15)
    except DigibenchError as exc:
        return Loopback(played=False, error=str(exc))
    ok_play = all(p.ok for p in played)
    error = next((p.error_text.strip() for p in played if not p.ok), None)
    if not floor.ok or not recording or not recording[0].ok:
        failed = floor if not floor.ok else (recording[0] if recording else None)
        why = failed.error_text.strip().splitlines()[-1:] if failed is not None else []
        return Loopback(played=ok_play, error=(why[0] if why else "no recording"))
    try:
        floor_samples, tone_samples = samples(floor.stdout), samples(recording[0].stdout)
    except ValueError as exc:
        return Loopback(played=ok_play, error=str(exc))
    return Loopback(
        played=ok_play,
        floor_db=tone_level_db(floor_samples),
        tone_db=tone_level_db(tone_samples),
        error=error,
        digital_silence=not any(floor_samples) or not any(tone_samples),
    )
