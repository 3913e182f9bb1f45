"""The tiny Magenta RT 2: the package's own classes at toy size, with random weights.

It exists so that the whole backend (conditioning, streaming state, CFG,
injection, replay) runs in tests and benchmarks on any CPU, with no download.
Its music is noise-like, because nothing was trained; its shapes are the real
model's shapes wherever they cross our code:

* the Depthformer is ``magenta_rt.jax.model.MagentaRT2ModelBase`` with one
  32-wide layer per transformer and 4 RVQ levels instead of 16, fed the same
  144 conditioning tokens per frame (12 MusicCoCa, 128 notes, drums, 3 CFG);
* the codec is ``magenta_rt.jax.spectrostream.SpectroStream`` with the real
  STFT and strides (1920 samples a frame, 48 kHz stereo) and 4-channel convs;
* the style model subclasses ``magenta_rt.musiccoca.MusicCoCaBase``, the
  package's own interface for MusicCoCa implementations, because the real
  MusicCoCa is a set of downloaded TFLite files with no trainable classes in
  the package. Like the real one it tokenizes text with SentencePiece (a
  vocabulary trained here, in memory, from the package's example prompt set
  and a short word list), embeds 10 s clips of 16 kHz mono audio, returns
  768-d unit vectors, and quantizes them with a 12-level, 1024-code residual
  vector quantizer, so blended embeddings map to nearby tokens.
"""

from __future__ import annotations

import dataclasses
import io
from importlib import resources

import jax.numpy as jnp
import numpy as np
import sentencepiece
from magenta_rt import musiccoca
from magenta_rt.config import MUSICCOCA, ModelSpec
from magenta_rt.jax import model as mrt_model
from magenta_rt.jax import spectrostream as mrt_codec

__all__ = ["TinyModel", "tiny_codec_config", "TinyMusicCoCa"]

_TINY_SPEC = ModelSpec(num_layers=1, model_dims=32, hidden_dims=64, num_heads=2, dim_per_head=16,
                       ffn_use_gated_activation=False)


class TinyModel(mrt_model.MagentaRT2ModelBase):
    """MagentaRT2ModelBase at toy size: the same inputs, a fraction of the work."""

    encoder_size = _TINY_SPEC
    decoder_temporal_size = _TINY_SPEC
    decoder_depth_size = _TINY_SPEC
    spectrostream = dataclasses.replace(mrt_model.SPECTROSTREAM, rvq_truncation_level=4)
    compute_dtype = jnp.float32
    encoder_max_past_horizon = 25
    decoder_temporal_self_attention_max_past_horizon = 25
    decoder_temporal_cross_attention_max_past_horizon = 25

    @property
    def input_configs(self):
        # The same tokens in the same order; only the MusicCoCa dequantizer's
        # internal width shrinks (768 would make it most of the model).
        configs = list(super().input_configs)
        configs[0] = dataclasses.replace(MUSICCOCA, embedding_size=32)
        return tuple(configs)


def tiny_codec_config(rvq_levels: int) -> mrt_codec.SpectroStream.Config:
    """The real 40 ms, 48 kHz stereo SpectroStream layout with 4-channel convolutions."""
    full = mrt_codec.stft_spectrostream_40ms_generic_48khz_stereo_config(rvq_truncation_level=rvq_levels)
    quantizer = dataclasses.replace(full.quantizer, num_quantizers=8, embedding_dim=16)
    return dataclasses.replace(full, encoder_base_conv_depth=4, decoder_base_conv_depth=4,
                               num_features=16, quantizer=quantizer)


#: Words the tiny vocabulary learns besides the package's example prompts.
_WORDS = """ambient techno house dub minimal acid jazz funk disco soul blues rock metal punk folk
country reggae hip hop trap drum bass breakbeat jungle garage trance dance electronic orchestral
classical baroque cinematic lofi chill piano guitar synth strings flute violin cello trumpet
saxophone organ choir vocals percussion kick snare hats pads arpeggio bright dark warm deep slow
fast heavy soft loud calm dreamy aggressive happy sad""".split()


def _vocabulary() -> sentencepiece.SentencePieceProcessor:
    prompts = resources.files("magenta_rt").joinpath("data/example_prompt_set.csv").read_text().splitlines()[1:]
    corpus = [line.strip().lower() for line in prompts if line.strip()] + _WORDS
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 4), model_writer=model, vocab_size=160, model_type="unigram",
        character_coverage=1.0, hard_vocab_limit=False, minloglevel=2)
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())


class TinyMusicCoCa(musiccoca.MusicCoCaBase):
    """A randomly initialised MusicCoCa-shaped style model (see the module docstring)."""

    _BANDS = 64

    def __init__(self, seed: int = 0):
        super().__init__(musiccoca.MusicCoCaConfiguration())
        config = self.config
        rng = np.random.default_rng(seed)
        self._vocab = _vocabulary()
        self._token_table = rng.standard_normal((self._vocab.GetPieceSize(), config.embedding_dim))
        self._audio_projection = rng.standard_normal((self._BANDS, config.embedding_dim))
        # Codebooks shrink level by level, as a trained residual quantizer's do.
        scales = 0.5 ** np.arange(config.rvq_depth)[:, None, None]
        codebooks = rng.standard_normal((config.rvq_depth, config.rvq_codebook_size, config.embedding_dim))
        self._codebooks = (codebooks / np.sqrt(config.embedding_dim) * scales).astype(np.float32)

    def _embed_batch_text(self, batch_text, use_mapper=False, seed=0):
        del use_mapper, seed  # the real mapper moves text into audio's region; this space has none
        rows = []
        for text in batch_text:
            ids = self._vocab.EncodeAsIds(text.lower()) or [0]
            rows.append(_unit(self._token_table[ids].mean(axis=0)))
        return np.array(rows, dtype=np.float32)

    def _embed_batch_clips(self, batch_clips):
        rows = []
        for clip in batch_clips:
            frames = clip[: len(clip) // 512 * 512].reshape(-1, 512) * np.hanning(512)
            power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
            bands = np.array_split(power.mean(axis=0), self._BANDS)
            features = np.log10(np.array([band.mean() for band in bands]) + 1e-8)
            rows.append(_unit((features - features.mean()) @ self._audio_projection))
        return np.array(rows, dtype=np.float32)

    def tokenize(self, embeddings):
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.shape[-1] != self.config.embedding_dim:
            raise ValueError(f"Embedding dimension must be {self.config.embedding_dim}, "
                             f"got {embeddings.shape[-1]}.")
        residual = embeddings.reshape(-1, self.config.embedding_dim).copy()
        tokens = np.empty((len(residual), self.config.rvq_depth), dtype=np.int32)
        for level, codebook in enumerate(self._codebooks):
            distances = (codebook ** 2).sum(axis=1)[None, :] - 2.0 * residual @ codebook.T
            tokens[:, level] = np.argmin(distances, axis=1)
            residual -= codebook[tokens[:, level]]
        return tokens.reshape(embeddings.shape[:-1] + (self.config.rvq_depth,))


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector
