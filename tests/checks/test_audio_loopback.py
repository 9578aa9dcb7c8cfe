"""Speakers and microphone: tones played through aplay, the microphone heard through arecord.

No sound card exists on the development machine, and ALSA's snd-aloop loopback
module cannot be loaded in its container (no kernel modules there): the
microphone's recordings are synthesized, the "no card" answer is recorded.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

from agent.checks.audio_loopback import (
    PLAY_ARGV,
    Loopback,
    loopback,
    record_argv,
    samples,
    tone_level_db,
    tone_wav,
)
from agent.report.schema import TestOutcome
from agent.runner import ReplayRunner

from .recordings import mic_wav

AUDIO = Path(__file__).parent.parent / "fixtures" / "audio"


def _runner(floor: bytes, during: bytes) -> ReplayRunner:
    runner = ReplayRunner(installed={"aplay", "arecord"})
    runner.add(record_argv(1), floor)
    runner.add(record_argv(3), during)
    runner.add(PLAY_ARGV, b"")
    return runner


def test_the_tone_is_on_one_channel_only() -> None:
    with wave.open(io.BytesIO(tone_wav("right")), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 48_000)
        raw = wav.readframes(wav.getnframes())
    import struct

    values = struct.unpack(f"<{len(raw) // 2}h", raw)
    assert max(abs(v) for v in values[0::2]) == 0  # left silent
    assert max(abs(v) for v in values[1::2]) > 15_000  # right plays


def test_the_level_is_measured_at_the_tones_frequency_not_the_fans_hum() -> None:
    quiet = tone_level_db(samples(mic_wav(1, tone_db=None)))
    loud = tone_level_db(samples(mic_wav(1, tone_db=-30)))
    assert quiet < -60  # the hum at -40 dB is not at 1 kHz
    assert -36 < loud < -28


def test_a_working_microphone_hears_the_tones_and_the_operator_confirms() -> None:
    runner = _runner(mic_wav(1, tone_db=None), mic_wav(3, tone_db=-30))
    found = loopback(runner, lead_in=0)
    assert found.played and found.mic == "ok"
    assert runner.calls.count(tuple(PLAY_ARGV)) == 2  # left, then right
    assert runner.calls[0] == tuple(record_argv(1))  # the floor first, in silence
    result = found.result(heard=True)
    assert result.name == "audio" and result.outcome is TestOutcome.PASS
    assert "microphone: tone" in (result.details or "")
    assert found.result(heard=False).outcome is TestOutcome.FAIL


def test_a_dead_microphone_fails_even_when_the_speakers_are_heard() -> None:
    runner = _runner(mic_wav(1, tone_db=None), mic_wav(3, tone_db=None, seed=4))
    found = loopback(runner, lead_in=0)
    assert found.mic == "silent"
    assert found.result(heard=True).outcome is TestOutcome.FAIL


def test_no_sound_card_is_said_in_words() -> None:
    err = (AUDIO / "arecord_no_card_debian12.stderr.txt").read_text()
    runner = ReplayRunner(installed={"aplay", "arecord"})
    runner.add(record_argv(1), b"", 1, err)
    runner.add(record_argv(3), b"", 1, err)
    runner.add(PLAY_ARGV, b"", 1, err.replace("arecord", "aplay"))
    found = loopback(runner, lead_in=0)
    assert not found.played and found.mic == "no_recording"
    assert found.error == "arecord: main:831: audio open error: No such file or directory"
    assert found.result(heard=None).outcome is TestOutcome.SKIPPED


def test_missing_tools_or_garbage_are_errors_not_crashes() -> None:
    assert loopback(ReplayRunner(installed=set()), lead_in=0).error is not None
    garbage = loopback(_runner(b"not a wav", b"nor this"), lead_in=0)
    assert garbage.mic == "no_recording" and "unreadable" in (garbage.error or "")
    assert isinstance(garbage, Loopback)
