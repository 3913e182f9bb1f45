"""Record a performance to a WAV file that stays playable if the process is killed.

Why: a live performance happens once. If the engine crashes, is OOM-killed or
is stopped with ``kill -9``, everything played up to that moment must still be
on disk as a file any player opens. An ordinary WAV writer fills in the header
sizes only when it is closed, so a hard kill leaves a header that claims no
audio (or garbage), and most readers refuse or play silence.

How: the header is written first, with sizes that describe zero frames. Each
block of audio is then appended with ``os.write`` on a raw file descriptor and,
only after the data is in the file, the sizes in the header (the data chunk
size, the ``fact`` frame count for float files, and the RIFF size at offset 4)
are patched in place with ``os.pwrite``. Data first, header second: at every
instant the header claims at most what is already in the file, so a kill at
any point leaves a valid WAV holding every complete block, plus at most one
block of unclaimed bytes after it that readers ignore.

There is no fsync per block. A process kill cannot lose data that is in the
kernel's page cache, and fsync on every block would put disk latency in the
audio path. Only :meth:`WavRecorder.close` fsyncs; surviving a power cut
mid-performance is not a goal.

The file is a canonical RIFF/WAVE file, so it is limited to 4 GiB (about 6.2
hours of 48 kHz stereo float32). A write that would pass the limit raises
:class:`~livemusic_kernel.errors.SinkError` and leaves the file intact.

``os.pwrite`` makes the writer POSIX-only (Linux, macOS).
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from livemusic_kernel.errors import SinkError

__all__ = ["SUBTYPES", "WavRecorder", "read_wav"]

#: Largest value the 32-bit RIFF size field can hold. Module-level so tests can
#: shrink it instead of writing 4 GiB.
MAX_RIFF_SIZE = 0xFFFF_FFFF

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_IEEE_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def _quantise(block: np.ndarray, bits: int) -> np.ndarray:
    """Map floats in [-1, 1] to signed ``bits``-bit integers, held as int32."""
    full_scale = float(2 ** (bits - 1))
    # NaN/inf would make the int cast undefined; treat them as silence/full scale.
    clean = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
    scaled = np.rint(np.clip(clean, -1.0, 1.0) * full_scale)
    # +1.0 scales to one step past the largest code.
    return np.minimum(scaled, full_scale - 1).astype("<i4")


def _encode_float32(block: np.ndarray) -> bytes:
    return np.ascontiguousarray(block, dtype="<f4").tobytes()


def _encode_pcm16(block: np.ndarray) -> bytes:
    return _quantise(block, 16).astype("<i2").tobytes()


def _encode_pcm24(block: np.ndarray) -> bytes:
    # Little-endian int32 with the top byte dropped is exactly 24-bit PCM.
    return _quantise(block, 24).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


@dataclass(frozen=True)
class _Subtype:
    format_tag: int
    sample_bytes: int
    encode: Callable[[np.ndarray], bytes]


_SUBTYPES: dict[str, _Subtype] = {
    "float32": _Subtype(_WAVE_FORMAT_IEEE_FLOAT, 4, _encode_float32),
    "pcm16": _Subtype(_WAVE_FORMAT_PCM, 2, _encode_pcm16),
    "pcm24": _Subtype(_WAVE_FORMAT_PCM, 3, _encode_pcm24),
}

#: The sample formats :class:`WavRecorder` can write.
SUBTYPES: tuple[str, ...] = tuple(_SUBTYPES)


class WavRecorder:
    """Append audio blocks to a WAV file whose header is valid after every write.

    ``subtype`` is one of :data:`SUBTYPES`: ``"float32"`` (IEEE float, stored
    bit-exact), ``"pcm16"`` or ``"pcm24"`` (clipped to [-1, 1] and rounded).

    :meth:`write` does blocking file I/O, so call it from a worker thread rather
    than a real-time audio callback. Use it as a context manager, or call
    :meth:`close` when done; an unclosed (or killed) recording is still valid.

    Raises :class:`ValueError` for a bad ``subtype``, ``sample_rate`` or
    ``channels``, and :class:`~livemusic_kernel.errors.SinkError` if the file
    cannot be created.
    """

    def __init__(self, path: str | os.PathLike[str], sample_rate: int = 48000,
                 channels: int = 2, subtype: str = "float32") -> None:
        if subtype not in _SUBTYPES:
            raise ValueError(f"unknown WAV subtype {subtype!r}; choose one of {', '.join(SUBTYPES)}")
        if not _is_positive_int(sample_rate):
            raise ValueError(f"sample_rate must be a positive whole number of Hz, got {sample_rate!r}")
        if not _is_positive_int(channels):
            raise ValueError(f"channels must be a positive whole number, got {channels!r}")

        self.path: Path = Path(path)
        self.sample_rate: int = int(sample_rate)
        self.channels: int = int(channels)
        self.subtype: str = subtype
        self._format = _SUBTYPES[subtype]
        self._frames = 0
        self._data_bytes = 0

        header, self._fact_offset = _build_header(self._format, self.sample_rate, self.channels)
        self._header_len = len(header)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        try:
            self._fd: int | None = os.open(self.path, flags, 0o666)
        except OSError as exc:
            raise SinkError(f"cannot create recording {str(self.path)!r}: {exc.strerror or exc}") from exc
        try:
            _write_all(self._fd, header)
        except OSError as exc:
            os.close(self._fd)
            self._fd = None
            raise SinkError(f"cannot write WAV header to {str(self.path)!r}: {exc.strerror or exc}") from exc

    @property
    def frames_written(self) -> int:
        """Frames (samples per channel) written so far."""
        return self._frames

    @property
    def seconds(self) -> float:
        """Duration written so far, in seconds."""
        return self._frames / self.sample_rate

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._fd is None

    def write(self, block: np.ndarray) -> None:
        """Append a float block of shape ``(frames, channels)`` and update the header.

        Raises :class:`ValueError` for a wrong shape, :class:`TypeError` for a
        non-float block, and :class:`~livemusic_kernel.errors.SinkError` if the
        recorder is closed, the file is full (4 GiB) or the OS refuses the write.
        """
        if self._fd is None:
            raise SinkError(f"cannot write to {str(self.path)!r}: the recorder is closed")
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"expected a block of shape (frames, {self.channels}), got shape {block.shape}")
        if not np.issubdtype(block.dtype, np.floating):
            raise TypeError(f"expected a float block with samples in [-1, 1], got dtype {block.dtype}")
        if block.shape[0] == 0:
            return

        payload = self._format.encode(block)
        data_bytes = self._data_bytes + len(payload)
        if self._riff_size(data_bytes) > MAX_RIFF_SIZE:
            raise SinkError(
                f"recording {str(self.path)!r} is full: a WAV file holds at most 4 GiB "
                f"({self.seconds:.0f} s are safely written); close this recorder and start a new recording")
        try:
            _write_all(self._fd, payload)
        except OSError as exc:
            # A partial write leaves bytes the header does not claim; seek back so
            # the next write overwrites them instead of leaving a gap in the audio.
            with contextlib.suppress(OSError):
                os.lseek(self._fd, self._header_len + self._data_bytes, os.SEEK_SET)
            raise SinkError(f"cannot write audio to {str(self.path)!r}: {exc.strerror or exc}") from exc
        self._data_bytes = data_bytes
        self._frames += block.shape[0]
        try:
            self._patch_header()
        except OSError as exc:
            # The header still describes a shorter, valid file; the next write patches it.
            raise SinkError(f"cannot update the WAV header of {str(self.path)!r}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Flush the recording to disk and close it. Calling it again does nothing."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._data_bytes % 2:
                # RIFF chunks are word-aligned; the pad byte belongs to the RIFF size
                # but not to the data size.
                _write_all(fd, b"\0")
                os.pwrite(fd, struct.pack("<I", self._riff_size(self._data_bytes)), 4)
            os.fsync(fd)
        except OSError as exc:
            raise SinkError(f"cannot finish recording {str(self.path)!r}: {exc.strerror or exc}") from exc
        finally:
            os.close(fd)

    def __enter__(self) -> WavRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (f"WavRecorder({str(self.path)!r}, {self.sample_rate} Hz, {self.channels} ch, "
                f"{self.subtype}, {self._frames} frames, {state})")

    def _riff_size(self, data_bytes: int) -> int:
        return self._header_len - 8 + data_bytes + data_bytes % 2

    def _patch_header(self) -> None:
        assert self._fd is not None
        os.pwrite(self._fd, struct.pack("<I", self._data_bytes), self._header_len - 4)
        if self._fact_offset is not None:
            os.pwrite(self._fd, struct.pack("<I", self._frames), self._fact_offset)
        # Odd-sized data is padded only on close, so until then the file is
        # exactly header + data long.
        os.pwrite(self._fd, struct.pack("<I", self._header_len - 8 + self._data_bytes), 4)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _build_header(fmt: _Subtype, sample_rate: int, channels: int) -> tuple[bytes, int | None]:
    """Return a header describing zero frames and the offset of the fact count (or None)."""
    block_align = channels * fmt.sample_bytes
    fmt_body = struct.pack("<HHIIHH", fmt.format_tag, channels, sample_rate,
                           sample_rate * block_align, block_align, 8 * fmt.sample_bytes)
    chunks = []
    fact_offset = None
    if fmt.format_tag == _WAVE_FORMAT_PCM:
        chunks.append(b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body)
    else:
        # Non-PCM formats need the cbSize field and a fact chunk (frame count).
        fmt_body += struct.pack("<H", 0)
        chunks.append(b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body)
        fact_offset = 12 + len(chunks[0]) + 8
        chunks.append(b"fact" + struct.pack("<II", 4, 0))
    chunks.append(b"data" + struct.pack("<I", 0))
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body, fact_offset


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- reading ------------------------------------------------------------------

def _decode_int24(raw: bytes) -> np.ndarray:
    triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
    quads = np.zeros((len(triples), 4), dtype=np.uint8)
    # Put the 3 bytes in the top of a little-endian int32 so the sign comes along.
    quads[:, 1:] = triples
    return (quads.view("<i4").ravel() >> 8).astype(np.float32) / np.float32(2 ** 23)


_DECODERS: dict[tuple[int, int], Callable[[bytes], np.ndarray]] = {
    (_WAVE_FORMAT_PCM, 16): lambda raw: np.frombuffer(raw, "<i2").astype(np.float32) / np.float32(2 ** 15),
    (_WAVE_FORMAT_PCM, 24): _decode_int24,
    (_WAVE_FORMAT_PCM, 32): lambda raw: (np.frombuffer(raw, "<i4") / 2.0 ** 31).astype(np.float32),
    (_WAVE_FORMAT_IEEE_FLOAT, 32): lambda raw: np.frombuffer(raw, "<f4").astype(np.float32),
    (_WAVE_FORMAT_IEEE_FLOAT, 64): lambda raw: np.frombuffer(raw, "<f8").astype(np.float32),
}


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a WAV file into a float32 array of shape ``(frames, channels)`` and its sample rate.

    Reads 16/24/32-bit PCM and 32/64-bit float, including the files
    :class:`WavRecorder` writes. Unknown chunks are skipped; only the bytes the
    data chunk's size claims are read, so anything after them (such as a
    partial block left by a killed recorder) is ignored. Integer samples are
    scaled to [-1, 1).

    Raises :class:`~livemusic_kernel.errors.SinkError` if the file cannot be
    opened, is not a WAV file, has a truncated header or an unsupported format.
    """
    name = str(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise SinkError(f"cannot open {name!r}: {exc.strerror or exc}") from exc
    with f:
        riff = f.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            raise SinkError(f"{name!r} is not a WAV file (it does not start with a RIFF/WAVE header)")
        fmt: tuple[int, int, int, int] | None = None
        while True:
            chunk_header = f.read(8)
            if len(chunk_header) < 8:
                missing = "fmt" if fmt is None else "data"
                raise SinkError(f"{name!r} is truncated or incomplete: its header has no {missing} chunk")
            chunk_id, size = chunk_header[:4], struct.unpack("<I", chunk_header[4:])[0]
            if chunk_id == b"fmt ":
                body = f.read(size)
                if len(body) < size or size < 16:
                    raise SinkError(f"{name!r} has a truncated fmt chunk")
                fmt = _parse_fmt(body, name)
                f.seek(size % 2, os.SEEK_CUR)
            elif chunk_id == b"data":
                if fmt is None:
                    raise SinkError(f"{name!r} is malformed: its data chunk comes before the fmt chunk")
                raw = f.read(size)
                break
            else:
                f.seek(size + size % 2, os.SEEK_CUR)

    format_tag, channels, sample_rate, bits = fmt
    block_align = channels * bits // 8
    # A file cut short mid-frame still yields every complete frame.
    raw = raw[:len(raw) - len(raw) % block_align]
    samples = _DECODERS[format_tag, bits](raw)
    return samples.reshape(-1, channels), sample_rate


def _parse_fmt(body: bytes, name: str) -> tuple[int, int, int, int]:
    """Return (format tag, channels, sample rate, bits per sample) from a fmt chunk."""
    format_tag, channels, sample_rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if format_tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
        # The real format tag is the first two bytes of the SubFormat GUID.
        format_tag = struct.unpack("<H", body[24:26])[0]
    if channels == 0 or (format_tag, bits) not in _DECODERS:
        raise SinkError(f"{name!r} has an unsupported sample format (format tag {format_tag}, "
                        f"{bits} bits, {channels} channels); supported: 16/24/32-bit PCM, 32/64-bit float")
    return format_tag, channels, sample_rate, bits
