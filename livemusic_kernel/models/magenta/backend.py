"""Magenta RealTime 2 behind the backend protocol.

``Engine(backend="magenta")`` streams Magenta RT 2 (package ``magenta-rt``,
its JAX implementation) through the engine, so prompts, blends, morphs, the
clock, OSC and the widgets work with it as with any backend. The model makes
40 ms frames (1920 samples at 48 kHz stereo); the engine's block is a whole
number of them, chosen from the time a frame takes here (``frames_per_block``).

What the engine's controls become, frame by frame:

=================  ===========================================================
style (prompts)    the blended MusicCoCa embedding, tokenized by MusicCoCa's
                   quantizer; the coarsest ``style_levels`` of its 12 tokens
                   steer (the package's C++ engine keeps 6); no prompt masks them
guidance           the MusicCoCa CFG scale (the model takes -1 to 7 in steps of
                   0.2; larger values act as 7)
temperature, top_k the sampler's, per frame
seed               the sampling key of every frame is drawn from (seed, frame
                   number), so a seed change lands on the next block and a
                   replay repeats every sample
held notes         the piano-roll conditioning: held pitches "on", the rest
                   masked (see ``note_onsets`` and ``note_unmask_width``)
=================  ===========================================================

Options that are not engine controls: ``drums`` (True plays drums, False leaves
them out, None lets the model choose), ``cfg_notes`` and ``cfg_drums`` (their
CFG scales), ``model`` (``mrt2_small``, ``mrt2_base``, or ``tiny``: a small
random model for tests that needs no download), ``checkpoint`` and
``magenta_home`` (where the weights are; ``checkpoint="random"`` draws random
weights for the model's architecture, which measures its speed on this machine
without a download). Change them live with
``engine.set_backend("magenta", drums=False, ...)``, which restarts the model's
context.

The model takes no tempo: ``capabilities.tempo_lock`` is false, so the engine's
tempo follower re-aligns the clock to the beat the model plays.

Injection and prefill
---------------------
Two methods put audio into the model's context, each a pure function of the
state like :meth:`step` (``can_inject`` says whether this model has the codec
encoder they need). The engine does not call them yet; the injection issue
wires them in, and ``capabilities.audio_injection`` stays false until then.

* :meth:`MagentaBackend.inject` mixes audio into the context of the frames it
  covers: each such frame is generated as usual (its output is what is played),
  then its context token becomes the codec codes of (output + audio), so the
  frames after it continue from music that contains the input. The user's
  audio is never played by the model. MRT 2's JAX model has no guidance input
  for the context (its CFG tokens cover style, notes and drums), so ``gain``
  is the strength control.
* :meth:`MagentaBackend.prefill` makes a clip the model's recent past
  (teacher forcing, as the package's C++ engine prefills): the next frame
  continues the clip.
"""

from __future__ import annotations

import math
import platform
import sys
import threading
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ...audio import AudioClip
from ...errors import MissingExtraError
from ...style import Style, StyleSpace
from ..base import SAMPLING_CONTROLS, Backend, BlockRequest, Capabilities
from .errors import InjectionUnavailableError, RealTimeWarning, UnsupportedPlatformError, WeightsMissingError

__all__ = ["MagentaBackend", "MagentaState", "MODELS", "FRAME", "MUSICCOCA_SPACE", "RANDOM_SPACE",
           "check_platform", "choose_frames_per_block", "realtime_advice"]

#: Samples per model frame: 40 ms at 48 kHz.
FRAME = 1920
#: Model names: the two released checkpoints, and a small random model that needs no download.
MODELS = ("mrt2_small", "mrt2_base", "tiny")
#: MusicCoCa's joint text and audio space (the released style model).
MUSICCOCA_SPACE = StyleSpace("musiccoca/mrt2", 768)
#: The random stand-in for MusicCoCa of random models (``model="tiny"`` or
#: ``checkpoint="random"``): the same shape, none of the meaning.
RANDOM_SPACE = StyleSpace("magenta-random/1", 768)
#: Frames per engine block that ``frames_per_block="auto"`` chooses from: up to
#: 200 ms, because control changes land on block boundaries.
BLOCK_CHOICES = (1, 2, 3, 4, 5)
#: The share of a block's duration that its generation may take, leaving room for jitter.
TARGET_REALTIME_FACTOR = 0.7
#: Frames of recent output kept to warm the codec encoder up when injection starts.
HISTORY_FRAMES = 8
_MUSICCOCA_FILES = ("spm.model", "text_encoder.tflite", "audio_preprocessor.tflite", "music_encoder.tflite",
                    "pretrained_vector_quantizer.tflite")
_STYLE_TOKENS = 12
_CFG_RANGE = (-1.0, 7.0)
_FRAME_MS = 1000 * FRAME / 48000


def check_platform(system: str | None = None, version: tuple[int, int] | None = None) -> None:
    """Raise :class:`UnsupportedPlatformError` where ``magenta-rt`` cannot run."""
    system = platform.system() if system is None else system
    version = tuple(sys.version_info[:2]) if version is None else version
    if system == "Windows":
        raise UnsupportedPlatformError(
            "Magenta RT 2 (the magenta-rt package) runs on Linux and macOS, not Windows: run livemusic-kernel "
            "in WSL2, or on a Linux machine with a GPU and connect to it from your notebook (docs/magenta.md)")
    if version < (3, 11):
        raise UnsupportedPlatformError(
            f"Magenta RT 2 (the magenta-rt package) needs Python 3.11 or newer; this is "
            f"{version[0]}.{version[1]}: create the environment with python3.11 or later")


def choose_frames_per_block(frame_ms: float, overhead_ms: float) -> int:
    """The fewest frames per block whose generation takes at most
    TARGET_REALTIME_FACTOR of the block's duration; if none does, the choice
    that comes closest (the most frames, which spread the per-call overhead)."""
    for frames in BLOCK_CHOICES:
        if (overhead_ms + frames * frame_ms) / (frames * _FRAME_MS) <= TARGET_REALTIME_FACTOR:
            return frames
    return BLOCK_CHOICES[-1]


def realtime_advice(model: str, device: str, frame_ms: float, overhead_ms: float, frames: int,
                    lead: float) -> str | None:
    """What to tell the user about streaming this model live here, or None if all is well."""
    block_ms = overhead_ms + frames * frame_ms
    factor = block_ms / (frames * _FRAME_MS)
    measured = (f"Magenta RT 2 ({model}) takes {frame_ms:.1f} ms per 40 ms frame on {device} "
                f"(real-time factor {factor:.2f} with {frames}-frame blocks)")
    if factor > 1:
        smaller = ", or the smaller model (model='mrt2_small')" if model == "mrt2_base" else ""
        return (f"{measured}: too slow for real time on this machine, so live streaming will underrun "
                f"whatever the lead. Render offline (Engine(sink=None).render(...)) or use a GPU{smaller}; "
                f"docs/magenta.md says what runs in real time.")
    needed = suggested_lead(block_ms)
    if needed > lead:
        return (f"{measured}: fast enough for real time, but one block takes {block_ms:.0f} ms to generate, "
                f"more than half the default lead of {1000 * lead:.0f} ms. Stream with "
                f"Engine(backend='magenta', lead={needed:g}) or more to avoid underruns.")
    return None


def suggested_lead(block_ms: float) -> float:
    """Seconds of audio to keep ready: twice a block's generation time, rounded up to 10 ms."""
    return math.ceil(2 * block_ms / 10) / 100


@dataclass(frozen=True, eq=False)
class MagentaState:
    """Everything that changes while Magenta RT 2 plays. Immutable: every step returns a new one."""

    #: The package sampler's streaming state (attention caches, codec state, last frame): JAX arrays.
    model: Any
    #: Frames generated (the sampling key of the next one derives from it).
    frame: int = 0
    #: The absolute sample of the next frame, once the state has generated one.
    position: int | None = None
    #: Notes held during the last frame (for onsets).
    notes: frozenset[int] = frozenset()
    #: The last frames of output, to warm the codec encoder up when injection starts.
    history: np.ndarray | None = None
    #: The codec encoder, listening while injected audio is pending; None otherwise.
    encoder: Any = None
    #: Injected audio still to come, float32 (frames, 2), from absolute sample ``pending_start``.
    pending: np.ndarray | None = None
    pending_start: int = 0


class MagentaBackend(Backend):
    """Magenta RealTime 2 (JAX): style, notes, drums, CFG, sampling controls, injection."""

    name = "magenta"
    sample_rate = 48000
    channels = 2

    def __init__(self, model: str = "mrt2_small", *, checkpoint: str | Path | None = None,
                 magenta_home: str | Path | None = None, frames_per_block: int | str = "auto",
                 style_levels: int = 6, cfg_notes: float = 5.0, cfg_drums: float = 1.0,
                 drums: bool | None = None, note_onsets: bool = False, note_unmask_width: int = 0,
                 text_mapper: bool | None = None, init_seed: int = 0):
        check_platform()
        _check_options(model, frames_per_block, style_levels, cfg_notes, cfg_drums, drums, note_unmask_width)
        try:
            from . import _conditioning, _runtime
        except ImportError as error:
            raise MissingExtraError("the magenta backend (Magenta RT 2)", "magenta",
                                    getattr(error, "name", None) or "magenta-rt") from None
        self._conditioning_module = _conditioning
        self._runtime_module = _runtime
        self.model = model
        self.style_levels = style_levels
        self.cfg_notes, self.cfg_drums, self.drums = float(cfg_notes), float(cfg_drums), drums
        self.note_onsets, self.note_unmask_width = bool(note_onsets), note_unmask_width
        self.options = {"model": model, "checkpoint": None if checkpoint is None else str(checkpoint),
                        "frames_per_block": frames_per_block, "style_levels": style_levels,
                        "cfg_notes": cfg_notes, "cfg_drums": cfg_drums, "drums": drums,
                        "note_onsets": note_onsets, "note_unmask_width": note_unmask_width,
                        "magenta_home": None if magenta_home is None else str(magenta_home),
                        "text_mapper": text_mapper, "init_seed": init_seed}

        if model == "tiny" or checkpoint == "random":
            weights = encoder_weights = style_files = None
            self.style_space, self._text_mapper = RANDOM_SPACE, False
        else:
            weights, encoder_weights, style_files = _weights(model, checkpoint, _home(magenta_home))
            self.style_space = MUSICCOCA_SPACE
            self._text_mapper = (style_files / "mapper.tflite").is_file() if text_mapper is None else bool(text_mapper)
        self._shared = _shared(model, weights, encoder_weights, style_files, init_seed)
        self._runtime = self._shared.runtime
        self._style_model = self._shared.style_model
        self._conditioning = _conditioning.Conditioning(self._runtime.spec.input_configs)
        self._blank_encoder = self._runtime.new_encoder() if self._runtime.can_encode else None
        self._tokens_of: dict[bytes, np.ndarray] = {}

        timing = self._runtime.measure(self._frame_tokens(None, frozenset(), frozenset(), 4.0))
        self.frame_ms, self.overhead_ms, self.warmup_s = timing.frame_ms, timing.overhead_ms, timing.compile_s
        self.frames_per_block = (choose_frames_per_block(self.frame_ms, self.overhead_ms)
                                 if frames_per_block == "auto" else frames_per_block)
        self.block_size = self.frames_per_block * FRAME
        self.options["frames_per_block"] = self.frames_per_block  # as chosen: what rebuilds this backend exactly
        block_ms = self.overhead_ms + self.frames_per_block * self.frame_ms
        #: Mean generation time over block duration, as measured while warming up.
        self.realtime_factor = block_ms / (self.frames_per_block * _FRAME_MS)
        #: Seconds of audio the engine should keep ready for this model here (Engine's ``lead``).
        self.suggested_lead = suggested_lead(block_ms)
        self.capabilities = Capabilities(tempo_lock=False, variable_blocks=False, notes=True,
                                         audio_injection=False, audio_prompts=True,
                                         sampling=frozenset(SAMPLING_CONTROLS), overlap=0)
        from ...engine import LATENCY_PRESETS

        advice = realtime_advice(model, self.device, self.frame_ms, self.overhead_ms, self.frames_per_block,
                                 LATENCY_PRESETS["default"]["lead"])
        if advice:
            warnings.warn(advice, RealTimeWarning, stacklevel=3)

    # -- facts ------------------------------------------------------------------
    @property
    def device(self) -> str:
        """The JAX device the model runs on."""
        import jax

        device = jax.devices()[0]
        return f"{device.platform.upper()} ({device.device_kind})"

    @property
    def can_inject(self) -> bool:
        """Whether :meth:`inject` and :meth:`prefill` work: they need the codec's encoder
        (``resources/spectrostream/encoder.safetensors``, from ``mrt models init``)."""
        return self._runtime.can_encode

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": self.model, "device": self.device,
                "frames_per_block": self.frames_per_block, "frame_ms": round(self.frame_ms, 2),
                "realtime_factor": round(self.realtime_factor, 3), "suggested_lead": self.suggested_lead,
                "can_inject": self.can_inject, "parameters": self._runtime.parameters, "options": self.options}

    # -- embedding ----------------------------------------------------------------
    def embed_text(self, text: str) -> Style:
        with self._shared.embed_lock:
            vector = self._style_model.embed(text, use_mapper=self._text_mapper)
        return Style(vector, self.style_space, text)

    def embed_audio(self, clip: AudioClip) -> Style:
        from magenta_rt.audio import Waveform

        sample_rate = self._style_model.config.sample_rate
        mono = clip.resampled(sample_rate).mono()
        with self._shared.embed_lock:
            vector = self._style_model.embed(Waveform(mono[:, None], sample_rate))
        return Style(vector, self.style_space, "audio")

    def default_style(self) -> Style:
        """No style: the zero vector, which leaves the style tokens masked (the model plays freely)."""
        return Style(np.zeros(self.style_space.size), self.style_space, "no style")

    def style_tokens(self, style: Style | None) -> np.ndarray | None:
        """The MusicCoCa tokens a style conditions on (coarse levels kept, the rest -1),
        or None for no style."""
        if style is None or style.norm() == 0:
            return None
        key = style.vector.tobytes()
        with self._shared.token_lock:
            tokens = self._tokens_of.get(key)
            if tokens is None:
                if len(self._tokens_of) > 1024:
                    self._tokens_of.clear()
                tokens = np.asarray(self._style_model.tokenize(style.vector.astype(np.float32)), np.int32)
                tokens = np.where(np.arange(_STYLE_TOKENS) < self.style_levels, tokens, -1)
                self._tokens_of[key] = tokens
        return tokens

    # -- streaming ----------------------------------------------------------------
    def initial_state(self) -> MagentaState:
        return MagentaState(self._runtime.initial_state())

    def _frame_tokens(self, style: Style | None, held: frozenset[int], before: frozenset[int],
                      guidance: float) -> np.ndarray:
        notes = (self._conditioning_module.note_tokens(held, before, onsets=self.note_onsets,
                                                        unmask_width=self.note_unmask_width) if held else None)
        return self._conditioning.tokens(self.style_tokens(style), notes, self.drums,
                                         {"musiccoca": guidance, "notes": self.cfg_notes, "drums": self.cfg_drums})

    def step(self, state: MagentaState, request: BlockRequest) -> tuple[np.ndarray, MagentaState]:
        frames, rest = divmod(request.frames, FRAME)
        if rest or not frames:
            raise ValueError(f"Magenta RT 2 generates whole 40 ms frames of {FRAME} samples; "
                             f"asked for {request.frames}")
        controls = request.controls
        held = frozenset(controls.notes)
        first = self._frame_tokens(controls.style, held, state.notes, controls.guidance)
        later = self._frame_tokens(controls.style, held, held, controls.guidance) if frames > 1 else first
        tokens = np.stack([first] + [later] * (frames - 1))
        start, end = request.start, request.start + frames * FRAME
        runtime = self._runtime_module

        encoder, modes, mix = self._blank_encoder, None, None
        # Injected audio heard with each output block of this step, and two blocks after
        # (a frame's audio leaves the codec a block late, and its encoder reads ahead).
        rows = self._pending_rows(state, start, frames + 2)
        if rows is not None:
            mix, touched = rows
            encoder = state.encoder
            if encoder is None:  # injection starts: the encoder first hears the recent output
                encoder = self._blank_encoder
                if state.history is not None:
                    _, encoder = self._runtime.hear(encoder, state.history)
            modes = np.where(touched[1:frames + 1], runtime.INJECT, runtime.LISTEN)
        audio, model, encoder = self._runtime.run(state.model, tokens, controls.seed, state.frame,
                                                  controls.temperature, controls.top_k, encoder, modes, mix)

        pending, pending_start = state.pending, state.pending_start
        if pending is not None and pending_start < end:
            pending = pending[end - pending_start:] if pending_start + len(pending) > end else None
            pending_start = end
        history = state.history
        if self._runtime.can_encode:
            recent = audio if history is None else np.concatenate([history, audio])
            history = recent[-HISTORY_FRAMES * FRAME:]
        keep_listening = pending is not None and modes is not None
        return audio, MagentaState(model, state.frame + frames, end, held, history,
                                   encoder if keep_listening else None, pending, pending_start)

    @staticmethod
    def _pending_rows(state: MagentaState, start: int, count: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The pending audio cut into ``count`` frames from sample ``start``, and which
        frames it touches; None if it touches none."""
        if state.pending is None or state.pending_start >= start + count * FRAME:
            return None
        rows = np.zeros((count, FRAME, 2), np.float32)
        touched = np.zeros(count, bool)
        for index in range(count):
            lo = start + index * FRAME - state.pending_start
            piece = state.pending[max(lo, 0):max(lo + FRAME, 0)]
            if len(piece):
                offset = max(-lo, 0)
                rows[index, offset:offset + len(piece)] = piece
                touched[index] = True
        return (rows, touched) if touched.any() else None

    # -- the context ----------------------------------------------------------------
    def inject(self, state: MagentaState, audio: AudioClip | np.ndarray, *, start: int | None = None,
               gain: float = 1.0) -> MagentaState:
        """The state with ``audio`` mixed into the context of the frames it covers.

        ``audio`` is 48 kHz (or an :class:`AudioClip` at any rate), mono or
        stereo, at the level it should have next to the model's output.
        ``start`` is the absolute sample where it begins (default: the next
        frame this state generates); audio for samples already generated is
        dropped. Injecting over audio already pending adds to it.
        """
        self._check_can_inject("inject audio")
        if not (isinstance(gain, (int, float)) and math.isfinite(gain)):
            raise ValueError(f"gain is a finite number, got {gain!r}")
        if start is None:
            if state.position is None:
                raise ValueError("this state has not generated a frame yet, so it has no next sample: give "
                                 "start=, the absolute sample where the audio begins")
            start = state.position
        samples = _stereo(audio, self.sample_rate) * np.float32(gain)
        if state.position is not None and start < state.position:
            samples, start = samples[state.position - start:], state.position
        if not len(samples):
            return state
        if state.pending is None:
            return replace(state, pending=samples, pending_start=start)
        low = min(start, state.pending_start)
        high = max(start + len(samples), state.pending_start + len(state.pending))
        merged = np.zeros((high - low, 2), np.float32)
        merged[state.pending_start - low:state.pending_start - low + len(state.pending)] += state.pending
        merged[start - low:start - low + len(samples)] += samples
        return replace(state, pending=merged, pending_start=low)

    def prefill(self, state: MagentaState, audio: AudioClip | np.ndarray, *,
                trim: tuple[int, int] = (25, 25)) -> MagentaState:
        """The state with ``audio`` as the model's recent past: the next frame continues it.

        ``audio`` is encoded with the codec, ``trim`` frames are dropped from its
        start and end (the codec's edge frames, where its receptive field is not
        yet filled or its lookahead runs out; the package's C++ engine drops 25
        and 25), and the rest is teacher-forced through the model, frame by
        frame. The model's context reaches back about 20 s.
        """
        self._check_can_inject("prefill the context")
        head, tail = trim
        samples = _stereo(audio, self.sample_rate)
        frames = len(samples) // FRAME
        if frames <= head + tail:
            raise ValueError(f"prefill needs more than trim={trim} frames of audio ({(head + tail) * 0.04:g} s); "
                             f"got {len(samples) / self.sample_rate:.2f} s")
        codes = self._runtime.encode(samples[:frames * FRAME])[head:frames - tail]
        tokens = self._conditioning.tokens(None, None, self.drums, {"musiccoca": 0.0, "notes": self.cfg_notes,
                                                                    "drums": self.cfg_drums})
        model, _ = self._runtime.prefill(state.model, tokens, codes, self._blank_encoder)
        history = samples[max(frames - tail - HISTORY_FRAMES, 0) * FRAME:(frames - tail) * FRAME]
        return replace(state, model=model, history=history, encoder=None)

    def _check_can_inject(self, what: str) -> None:
        if not self.can_inject:
            raise InjectionUnavailableError(
                f"cannot {what}: this Magenta RT 2 model has no codec encoder. Download it with `mrt models "
                f"init` (it saves resources/spectrostream/encoder.safetensors under MAGENTA_HOME), then "
                f"create the backend again")

    def close(self) -> None:
        """Nothing to release: the newest model stays loaded (see ``_CACHE``), so that a
        backend with other options (``engine.set_backend("magenta", drums=False)``)
        starts at once; loading another model lets it go."""


@dataclass(frozen=True)
class _Shared:
    """What backends with the same weights share: compiled model, style model, and
    the locks that keep two threads out of one style model."""

    runtime: Any
    style_model: Any
    embed_lock: threading.Lock
    token_lock: threading.Lock


#: The newest model loaded, so that ``engine.set_backend("magenta", drums=False)``
#: (a new backend with other options) does not load and compile the same weights again.
_CACHE: dict[tuple, _Shared] = {}


def _shared(model: str, weights: Path | None, encoder_weights: Path | None, style_files: Path | None,
            init_seed: int) -> _Shared:
    key = (model, weights, encoder_weights, style_files, init_seed)
    if key not in _CACHE:
        _CACHE.clear()  # one model at a time: the base model's weights alone fill 10 GB
        from ._runtime import Runtime

        if style_files is None:
            from ._tiny import TinyMusicCoCa

            style_model = TinyMusicCoCa(init_seed)
        else:
            from magenta_rt import musiccoca

            style_model = musiccoca.MusicCoCa(style_files)
        _CACHE[key] = _Shared(Runtime(model, weights, encoder_weights, init_seed), style_model,
                              threading.Lock(), threading.Lock())
    return _CACHE[key]


def _check_options(model, frames_per_block, style_levels, cfg_notes, cfg_drums, drums, note_unmask_width) -> None:
    if model not in MODELS:
        raise ValueError(f"unknown Magenta RT 2 model {model!r}; choose one of: {', '.join(MODELS)}")
    if frames_per_block != "auto" and not (isinstance(frames_per_block, int) and not isinstance(frames_per_block, bool)
                                          and 1 <= frames_per_block <= 250):
        raise ValueError(f"frames_per_block is 'auto' or a whole number of 40 ms frames from 1 to 250, "
                         f"got {frames_per_block!r}")
    if not (isinstance(style_levels, int) and 1 <= style_levels <= _STYLE_TOKENS):
        raise ValueError(f"style_levels is how many of MusicCoCa's {_STYLE_TOKENS} tokens steer, "
                         f"1 to {_STYLE_TOKENS}; got {style_levels!r}")
    for label, value in (("cfg_notes", cfg_notes), ("cfg_drums", cfg_drums)):
        if not (isinstance(value, (int, float)) and _CFG_RANGE[0] <= value <= _CFG_RANGE[1]):
            raise ValueError(f"{label} is a CFG scale from {_CFG_RANGE[0]:g} to {_CFG_RANGE[1]:g}, got {value!r}")
    if drums not in (None, True, False):
        raise ValueError(f"drums is True (play drums), False (leave them out) or None (the model chooses), "
                         f"got {drums!r}")
    if not (isinstance(note_unmask_width, int) and 0 <= note_unmask_width <= 127):
        raise ValueError(f"note_unmask_width is a number of semitones from 0 to 127, got {note_unmask_width!r}")


def _weights(model: str, checkpoint: str | Path | None, home: Path) -> tuple[Path, Path | None, Path]:
    """The checkpoint, the codec encoder (if downloaded) and MusicCoCa's folder, or
    WeightsMissingError saying which command fetches what is missing."""
    weights = _checkpoint(model, checkpoint, home)
    style_files = home / "resources" / "musiccoca"
    for name in _MUSICCOCA_FILES:
        if not (style_files / name).is_file():
            raise WeightsMissingError(f"MusicCoCa's {name} (the style model)", style_files / name,
                                      "mrt models init", home)
    encoder = home / "resources" / "spectrostream" / "encoder.safetensors"
    return weights, (encoder if encoder.is_file() else None), style_files


def _home(magenta_home: str | Path | None) -> Path:
    """The magenta-rt-v2 folder, as the package's ``paths`` module finds it."""
    if magenta_home is None:
        from magenta_rt import paths

        return paths.magenta_home()
    return Path(magenta_home).expanduser() / "magenta-rt-v2"


def _checkpoint(model: str, checkpoint: str | Path | None, home: Path) -> Path:
    name = f"{model}.safetensors" if checkpoint is None else str(checkpoint)
    path = Path(name).expanduser()
    if not path.is_file():
        path = home / "checkpoints" / name
    if not path.is_file():
        raise WeightsMissingError(f"the Magenta RT 2 checkpoint {Path(name).name!r}", path,
                                  f"mrt checkpoints download {Path(name).stem}", home)
    return path


def _stereo(audio: AudioClip | np.ndarray, sample_rate: int) -> np.ndarray:
    clip = audio if isinstance(audio, AudioClip) else AudioClip.from_array(np.asarray(audio), sample_rate)
    samples = clip.resampled(sample_rate).samples
    if samples.shape[1] == 1:
        samples = np.repeat(samples, 2, axis=1)
    elif samples.shape[1] != 2:
        raise ValueError(f"audio for Magenta RT 2 is mono or stereo, got {samples.shape[1]} channels")
    return np.ascontiguousarray(samples, dtype=np.float32)
