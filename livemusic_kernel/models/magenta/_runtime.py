"""The JAX side of the Magenta RT 2 backend: the package's sampler, its weights, one frame at a time.

Everything here is built from ``magenta_rt``'s own classes (``MagentaRT2Sampler``,
the model registry, ``SpectroStream``) the way ``magenta_rt.jax.system`` builds
them, with three differences that the backend protocol needs:

* **No donated state.** ``MagentaRT2System`` compiles its step with the state
  donated, which invalidates the state passed in. Ours keeps it, so the engine
  can hold on to the last good state and a test can step one state twice.
* **The seed is explicit.** The package's sampler keeps a PRNG key in its state,
  drawn once from a fixed key. We set that key before every frame from
  ``(seed, frame number)`` (as the package's C++ engine rewrites it for a seed
  change), so a seed change lands on the next frame and replay is exact.
* **The context can be written.** The Depthformer feeds its last frame of tokens
  (``previous_frame``) back as the next frame's input. Writing that slot is how
  the package's C++ engine prefills the context from audio; the JAX package has
  no forced-token path, so we write the slot the same way, for prefill and for
  injection.

One compiled function does every kind of frame (generate, generate and inject,
teacher-force for prefill), choosing with ``lax.cond`` at run time, because
compiling is the slow part on a small CPU. Audio leaves the package's sampler
as int16 with a gain of 0.5 (its own convention); we return float32
``int16 / 32768`` as ``MagentaRT2System.generate`` does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flax.core.meta
import flax.traverse_util
import jax
import jax.numpy as jnp
import magenta_rt  # noqa: F401  (activates the vendored sequence_layers)
import numpy as np
import safetensors.flax
import sequence_layers.jax as sl
from magenta_rt.jax import model as mrt_model
from magenta_rt.jax import spectrostream as mrt_codec
from magenta_rt.jax import system as mrt_system

from ...errors import BackendError
from ._tiny import TinyModel, tiny_codec_config

__all__ = ["Runtime", "Timing", "load_params", "FRAME", "RESERVED"]

#: Samples per model frame (40 ms at 48 kHz).
FRAME = 1920
#: Reserved token ids below every codebook in the Depthformer's output vocabulary.
RESERVED = mrt_system.NUM_RESERVED_TOKENS
#: The package's output gain before int16 (``_float_samples_to_int16``).
_OUTPUT_GAIN = 0.5
#: Frame modes of the compiled frame function: generate; generate while the codec
#: encoder listens to the output (so it is warm when injection starts); generate
#: and make this frame's context token the codes of (its audio + injected audio);
#: take a given frame as this frame (prefill).
GENERATE, LISTEN, INJECT, FORCE = 0, 1, 2, 3


def load_params(checkpoint: Path, encoder_weights: Path | None = None) -> dict:
    """A JAX checkpoint as the sampler's parameters, as ``MagentaRT2System`` loads it
    (flat ``a/b/c`` names), with the codec's encoder grafted in from its own file
    (``encoder.safetensors``, which ``mrt models init`` fetches) when given."""
    params = _load(checkpoint)
    if encoder_weights is not None:
        params["params"]["soundstream"]["encoder"] = _load(encoder_weights)["params"]["encoder"]
    return params


def _load(path: Path) -> dict:
    try:
        flat = safetensors.flax.load_file(str(path))
    except Exception as error:  # safetensors raises its own types, and OSError for unreadable files
        raise BackendError(f"cannot read the Magenta RT 2 weights {path}: {error}. The file may be incomplete: "
                           f"delete it and download it again") from None
    return flax.traverse_util.unflatten_dict({tuple(key.split("/")): value for key, value in flat.items()})


@dataclass(frozen=True)
class Timing:
    """What the runtime measured while warming up."""

    frame_ms: float      # one frame, model only
    overhead_ms: float   # per call on top of its frames (conditioning, transfers)
    compile_s: float


class Runtime:
    """One Magenta RT 2 model on the default JAX device."""

    def __init__(self, model: str, checkpoint: Path | None, encoder_weights: Path | None, init_seed: int = 0):
        started = time.perf_counter()
        self.model_name = model
        tiny = model == "tiny"
        self.spec = TinyModel() if tiny else mrt_model.get_model_class(model)()
        self.levels = self.spec.spectrostream.rvq_truncation_level
        codec = (tiny_codec_config(self.levels) if tiny else
                 mrt_codec.stft_spectrostream_40ms_generic_48khz_stereo_config(rvq_truncation_level=self.levels))
        self.codebook = codec.quantizer.num_embeddings
        self._sampler = mrt_system.MagentaRT2Sampler.Config(
            depthformer=self.spec.depthformer_config(), spectrostream=codec).make()
        self.channels = self.spec.input_num_channels
        self._offsets = jnp.asarray(RESERVED + np.arange(self.levels) * self.codebook, jnp.int32)
        if checkpoint is None:
            self.params = self._random_params(init_seed)
        else:
            self.params = load_params(checkpoint, encoder_weights)
        #: Injection and prefill need the codec's encoder, which the JAX checkpoints leave out.
        self.can_encode = "encoder" in self.params["params"]["soundstream"]
        self.parameters = sum(int(np.size(leaf)) for leaf in jax.tree.leaves(self.params))
        self._compile()
        self.load_s = time.perf_counter() - started

    # -- building -------------------------------------------------------------
    def _tokens(self) -> jax.Array:
        return jnp.full((self.channels,), RESERVED, jnp.int32)

    def _random_params(self, seed: int) -> dict:
        """Random weights in the shapes the package's modules declare.

        The shapes come from tracing the package's own initialisation
        (``eval_shape``); the values are drawn with NumPy by the usual
        variance-scaling rules, because compiling the initialisers takes
        longer than everything else the tiny model does.
        """
        spec = jax.ShapeDtypeStruct([self.channels], jnp.int32)

        def create(module, tokens, constants):
            state = module.get_initial_state(1, spec, training=False, constants={})
            return module.step_with_emits(tokens, state, training=False, constants=constants)

        def create_encoder(module, audio):
            return module.soundstream.waveform_to_codes_layer.layer(audio, training=False)

        key = jax.random.PRNGKey(seed)
        constants = {"temperature": jnp.ones(1), "top_k": jnp.full(1, 40, jnp.int32)}
        blank = sl.Sequence.from_values(self._tokens()[None, None])
        shapes = flax.core.meta.unbox(jax.eval_shape(
            lambda k: self._sampler.init({"params": k, "random": k}, blank, constants, method=create), key))
        encoder = flax.core.meta.unbox(jax.eval_shape(
            lambda k: self._sampler.init({"params": k}, sl.Sequence.from_values(jnp.zeros((1, 2 * FRAME, 2))),
                                         method=create_encoder), key))
        shapes["params"]["soundstream"]["encoder"] = encoder["params"]["soundstream"]["encoder"]
        rng = np.random.default_rng(seed)
        flat = flax.traverse_util.flatten_dict(shapes)
        params = {path: _draw(rng, path[-1], leaf) for path, leaf in flat.items()}
        # The notes, drums and CFG tokens reach the model as the mean of their 132
        # embeddings, so one token moves it by 1/132 of a row: scaled up, each one
        # visibly changes what an untrained model plays.
        regular = self.channels - self.spec.input_configs[0].rvq_truncation_level
        for path in params:
            if "regular_embedder" in path:
                params[path] = params[path] * np.float32(regular)
        # On the device once: NumPy arrays would be copied there again on every call.
        return jax.device_put(flax.traverse_util.unflatten_dict(params))

    def _compile(self) -> None:
        started = time.perf_counter()
        sampler, levels = self._sampler, self.levels
        with_previous = self._with_previous

        def initial(params, key):
            spec = jax.ShapeDtypeStruct([self.channels], jnp.int32)
            return sampler.apply(params, 1, spec, constants={}, training=False, rngs={"random": key},
                                 method=sampler.get_initial_state)

        def encoder_initial(params):
            return sampler.apply(params, method=_encoder_initial)

        def encode_step(params, audio, encoder):
            codes, encoder = sampler.apply(params, sl.Sequence.from_values(audio[None] / _OUTPUT_GAIN), encoder,
                                           method=_encoder_step)
            return codes.values[0, 0, :levels], encoder

        def frame(params, tokens, constants, state, seed, index, mode, encoder, mix, context):
            """Frame ``index`` in one of the modes above. Its sampling key depends on
            ``seed`` and ``index`` only. ``mix`` holds the injected audio heard with
            this step's output and the two steps after it. The encoder's work runs
            only in the modes that need it (``lax.cond`` runs one branch)."""
            key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed[0]), seed[1]), index)
            state = _with_key(state, key)
            state = jax.lax.cond(mode == FORCE, lambda s: with_previous(s, context), lambda s: s, state)
            forced = state[0][1].values
            sampled, model = sampler.apply(params, sl.Sequence.from_values(tokens[None, None]), state[0], constants,
                                           method=_sample)
            decoded = jnp.where(mode == FORCE, forced, sampled)
            audio, codec = sampler.apply(params, decoded, state[1:], method=_decode)
            state = (model,) + codec
            if encoder is None:  # no encoder weights: fixed when compiling
                return audio, state, encoder

            def listen(encoder):
                # The encoder hears the output stream (with the input heard alongside it).
                _, encoder = encode_step(params, _heard(audio) + mix[0], encoder)
                return jnp.zeros(levels, jnp.int32), encoder

            def inject(encoder):
                encoder = listen(encoder)[1]
                # The codec decoder plays a frame one step late, and its encoder reads
                # 10 ms ahead. So this frame's audio is decoded now on a copy, with its
                # tokens standing in for the unknown next frame, mixed with the input
                # heard with it, and encoded on a copy fed the input after it.
                ahead, _ = sampler.apply(params, decoded, codec, method=_decode)
                _, probe = encode_step(params, _heard(ahead) + mix[1], encoder)
                codes, _ = encode_step(params, mix[2], probe)
                return codes, encoder

            branch = jnp.where(mode == INJECT, 2, jnp.where(mode == LISTEN, 1, 0))
            codes, encoder = jax.lax.switch(branch, [lambda e: (jnp.zeros(levels, jnp.int32), e), listen, inject],
                                            encoder)
            state = jax.lax.cond(mode == INJECT, lambda s: with_previous(s, codes), lambda s: s, state)
            return audio, state, encoder

        def listen_only(params, audio, encoder):
            return encode_step(params, audio, encoder)

        # Compiled ahead of time, here, so that no frame ever waits for the compiler mid-performance.
        params = self.params
        constants = _constants(1.0, 40)
        self._initial = jax.jit(initial).lower(params, jax.random.PRNGKey(0)).compile()
        state = self._initial(params, jax.random.PRNGKey(0))
        silence = jnp.zeros((FRAME, 2), jnp.float32)
        codes = jnp.zeros((levels,), jnp.int32)
        self._seed = jax.jit(with_previous).lower(state, codes).compile()
        encoder = None
        if self.can_encode:
            self._encoder_initial = jax.jit(encoder_initial).lower(params).compile()
            encoder = self._encoder_initial(params)
            self._listen = jax.jit(listen_only).lower(params, silence, encoder).compile()
        self._frame = jax.jit(frame).lower(params, self._tokens(), constants, state, _seed(0), jnp.int32(0),
                                           jnp.int32(0), encoder, jnp.zeros((3, FRAME, 2)), codes
                                           ).compile()
        self.compile_s = time.perf_counter() - started

    def _with_previous(self, state: Any, codes: jax.Array) -> Any:
        """The state with its last context frame set to ``codes`` (raw codec codes, one per level)."""
        tokens = (codes.astype(jnp.int32) + self._offsets).reshape(1, 1, -1)
        encoder, previous, decoder, countdown = state[0]
        key, previous_frame, temporal, step = decoder
        decoder = (key, type(previous_frame)(tokens, previous_frame.mask), temporal, step)
        return ((encoder, type(previous)(tokens, previous.mask), decoder, countdown),) + tuple(state[1:])

    # -- running --------------------------------------------------------------
    def initial_state(self) -> Any:
        return self._initial(self.params, jax.random.PRNGKey(0))

    def new_encoder(self) -> Any:
        return self._encoder_initial(self.params)

    def run(self, state: Any, tokens: np.ndarray, seed: int, first: int, temperature: float, top_k: int,
            encoder: Any = None, modes: np.ndarray | None = None, mix: np.ndarray | None = None
            ) -> tuple[np.ndarray, Any, Any]:
        """Generate ``len(tokens)`` frames, numbered from ``first``; returns float32
        audio, the model state and the encoder state. ``encoder`` is a codec encoder
        state (required when the model has one), ``modes`` each frame's mode
        (GENERATE by default), and ``mix`` the injected audio heard with each
        step's output, with two more frames after the last."""
        constants = _constants(temperature, top_k)
        if mix is None:
            mix = np.zeros((len(tokens) + 2, FRAME, 2), np.float32)
        context = jnp.zeros(self.levels, jnp.int32)
        outputs = []
        for index in range(len(tokens)):
            mode = GENERATE if modes is None else int(modes[index])
            audio, state, encoder = self._frame(self.params, tokens[index], constants, state, _seed(seed),
                                                jnp.int32(first + index), jnp.int32(mode), encoder,
                                                mix[index:index + 3], context)
            outputs.append(audio)
        return np.asarray(jnp.concatenate(outputs), dtype=np.float32) / 32768.0, state, encoder

    def hear(self, encoder: Any, audio: np.ndarray) -> tuple[np.ndarray, Any]:
        """Feed whole frames of audio (at the level the model plays) to a codec
        encoder state; returns the codes that came out, one frame late, and the state."""
        codes = []
        for start in range(0, len(audio), FRAME):
            frame_codes, encoder = self._listen(self.params, jnp.asarray(audio[start:start + FRAME]), encoder)
            codes.append(frame_codes)
        return np.asarray(jnp.stack(codes)) if codes else np.zeros((0, self.levels), np.int32), encoder

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """Raw codec codes ``(frames, levels)`` of whole frames of 48 kHz stereo audio."""
        codes, _ = self.hear(self.new_encoder(), np.concatenate([audio, np.zeros((FRAME, 2), np.float32)]))
        return codes[1:]  # the encoder answers one frame late; the silent frame flushes the last

    def prefill(self, state: Any, tokens: np.ndarray, codes: np.ndarray, encoder: Any) -> tuple[Any, Any]:
        """Teacher-force ``codes`` as the model's recent past: every frame but the
        last goes through the temporal transformer and the codec decoder, and the
        last waits in ``previous_frame`` for the next generated frame to take in,
        as the package's C++ engine prefills."""
        constants = _constants(1.0, 40)
        silence = jnp.zeros((3, FRAME, 2), jnp.float32)
        for frame_codes in codes[:-1]:
            _, state, encoder = self._frame(self.params, tokens, constants, state, _seed(0), jnp.int32(0),
                                            jnp.int32(FORCE), encoder, silence, jnp.asarray(frame_codes, jnp.int32))
        return self._seed(state, jnp.asarray(codes[-1], jnp.int32)), encoder

    def measure(self, tokens: np.ndarray, frames: int = 3) -> Timing:
        """Warm up and time a call of one frame and one of ``frames`` + 1 frames."""
        started = time.perf_counter()
        state = self.initial_state()
        batch = np.repeat(tokens[None], frames + 1, axis=0)
        encoder = self.new_encoder() if self.can_encode else None
        _, state, encoder = self.run(state, batch[:2], 0, 0, 1.0, 40, encoder)
        warm_s = time.perf_counter() - started
        one, more = [], []
        for _ in range(2):
            began = time.perf_counter()
            _, state, encoder = self.run(state, batch[:1], 0, 0, 1.0, 40, encoder)
            one.append(time.perf_counter() - began)
            began = time.perf_counter()
            _, state, encoder = self.run(state, batch, 0, 0, 1.0, 40, encoder)
            more.append(time.perf_counter() - began)
        per_frame = max((min(more) - min(one)) / frames, 1e-6)
        return Timing(1000 * per_frame, 1000 * max(min(one) - per_frame, 0.0), self.compile_s + warm_s)


def _draw(rng: np.random.Generator, name: str, leaf: jax.ShapeDtypeStruct) -> np.ndarray:
    if name == "bias" or name == "per_dim_scale":
        return np.zeros(leaf.shape, leaf.dtype)
    if name == "scale":
        return np.ones(leaf.shape, leaf.dtype)
    fan_in = leaf.shape[-1] if name == "embedding" else math.prod(leaf.shape[:-1]) or 1
    return (rng.standard_normal(leaf.shape) / math.sqrt(fan_in)).astype(leaf.dtype)


def _seed(seed: int) -> jax.Array:
    """A seed of up to 64 bits as two 32-bit words."""
    return jnp.asarray([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF], jnp.uint32)


def _constants(temperature: float, top_k: int) -> dict:
    return {"temperature": jnp.asarray([temperature], jnp.float32), "top_k": jnp.asarray([top_k], jnp.int32)}


def _with_key(state: Any, key: jax.Array) -> Any:
    encoder, previous, decoder, countdown = state[0]
    _, previous_frame, temporal, step = decoder
    return ((encoder, previous, (key[None], previous_frame, temporal, step), countdown),) + tuple(state[1:])


# -- methods applied to the sampler module ----------------------------------------

def _codec(module):
    return module.soundstream.waveform_to_codes_layer


def _encoder_initial(module):
    return _codec(module).get_initial_state(1, sl.ChannelSpec((2,), jnp.float32), training=False)


def _encoder_step(module, audio, state):
    return _codec(module).step(audio, state, training=False)


def _sample(module, tokens, state, constants):
    """The Depthformer's step: the next frame of codec tokens."""
    sampled, state = module.layers[0].step(tokens, state, training=False, constants=constants)
    return sampled.values, state


def _decode(module, tokens, states):
    """The codec's step on one frame of Depthformer tokens: int16 audio, one frame late."""
    values = sl.Sequence.from_values(tokens)
    new_states = []
    for layer, layer_state in zip(module.layers[1:], states, strict=True):
        values, layer_state = layer.step(values, layer_state, training=False)
        new_states.append(layer_state)
    return values.values[0], tuple(new_states)


def _heard(audio: jax.Array) -> jax.Array:
    return audio.astype(jnp.float32) / 32768.0
