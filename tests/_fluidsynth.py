"""Rendering test pieces with FluidSynth and the General MIDI soundfont.

FluidSynth is another synthesizer entirely (sampled instruments from the
FluidR3 soundfont, its own reverb), so what the analysis measures on its
renders says how it hears real instruments, not the builtin generator.
Renders are cached by the MIDI bytes and the settings, so a piece is
rendered once however many tests listen to it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile
from _midi import Piece

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RATE = 48000


def missing() -> str | None:
    """Why pieces cannot be rendered here, or None when they can."""
    if shutil.which("fluidsynth") is None:
        return "fluidsynth is not installed (scripts/setup.sh test installs it as root: apt-get install fluidsynth)"
    if not SOUNDFONT.is_file():
        return f"{SOUNDFONT} is missing (apt-get install fluid-soundfont-gm)"
    return None


def render(piece: Piece, cache: Path, *, reverb: float = 0.0, rate: int = RATE,
           level_db: float | None = -16.0) -> np.ndarray:
    """The piece as float32 stereo ``(frames, 2)`` at ``rate``, scaled to ``level_db`` dBFS RMS
    (``None``: as FluidSynth made it, so parts rendered apart mix at their true balance).

    ``reverb`` (0..1) is the room size of FluidSynth's reverb, with every channel sent to it in
    full; 0 renders dry. The tail after the last note is cut, so a clip is as long as its music.
    """
    wet = reverb > 0
    settings = [
        "-o", f"synth.reverb.active={int(wet)}", "-o", "synth.chorus.active=0",
        "-o", f"synth.reverb.room-size={reverb:.3f}", "-o", "synth.reverb.level=1.0",
        "-o", "synth.reverb.width=1.0", "-o", "synth.reverb.damp=0.2",
    ]
    midi = (Piece(piece.bpm, piece.notes, piece.programs, 127) if wet else piece).midi()
    key = hashlib.sha1(midi + repr((settings, rate)).encode()).hexdigest()[:20]
    cache.mkdir(parents=True, exist_ok=True)
    wav = cache / f"{key}.wav"
    if not wav.exists():
        source = cache / f"{key}.mid"
        source.write_bytes(midi)
        partial = cache / f"{key}.partial.wav"
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.3", "-r", str(rate), "-O", "float", "-T", "wav",
                        "-F", str(partial), *settings, str(SOUNDFONT), str(source)],
                       check=True, capture_output=True, timeout=120)
        partial.rename(wav)
    audio, _ = soundfile.read(str(wav), dtype="float32", always_2d=True)
    audio = audio[:int(round(piece.seconds * rate))]
    if level_db is None:
        return audio
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    return (audio * (10 ** (level_db / 20) / max(rms, 1e-9))).astype(np.float32)
