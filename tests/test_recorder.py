"""Tests for livemusic_kernel.recorder: round trips, live headers, kill -9, errors."""

from __future__ import annotations

import inspect
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile

from livemusic_kernel import recorder as recorder_mod
from livemusic_kernel.errors import SinkError
from livemusic_kernel.recorder import SUBTYPES, WavRecorder, read_wav

REPO_ROOT = Path(__file__).resolve().parents[1]

# Largest round-trip error of a PCM subtype: one quantisation step (+1.0 is
# stored as the largest code, one step below full scale).
PCM_STEP = {"pcm16": 2.0 ** -15, "pcm24": 2.0 ** -23}
# scipy returns integer PCM unscaled; 24-bit comes left-justified in int32.
SCIPY_FULL_SCALE = {"pcm16": 2.0 ** 15, "pcm24": 2.0 ** 31}


def deterministic_block(index: int, frames: int = 4800, channels: int = 2) -> np.ndarray:
    """Audio block number ``index``; the kill test's child process runs this same source."""
    return np.random.default_rng(index).uniform(-1.0, 1.0, (frames, channels)).astype(np.float32)


def random_blocks(channels: int, sizes: list[int], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, (n, channels)).astype(np.float32) for n in sizes]


def chunks(path: Path) -> dict[bytes, tuple[int, int]]:
    """Map chunk id -> (offset of its body, declared size), parsed independently of the module."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    found, pos = {}, 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        found[chunk_id] = (pos + 8, size)
        if chunk_id == b"data":
            break
        pos += 8 + size + size % 2
    return found


def riff_size(path: Path) -> int:
    return struct.unpack("<I", path.read_bytes()[4:8])[0]


def assert_matches(got: np.ndarray, expected: np.ndarray, subtype: str) -> None:
    assert got.shape == expected.shape
    if subtype == "float32":
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
    else:
        np.testing.assert_allclose(got, expected, rtol=0, atol=PCM_STEP[subtype])


def read_with_scipy(path: Path, subtype: str) -> tuple[np.ndarray, int]:
    rate, data = scipy.io.wavfile.read(path)
    data = data.reshape(len(data), -1)
    if subtype != "float32":
        data = (data / SCIPY_FULL_SCALE[subtype]).astype(np.float32)
    return data, rate


# -- round trips ----------------------------------------------------------------

@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("subtype", SUBTYPES)
def test_round_trip_with_three_readers(tmp_path, subtype, channels):
    path = tmp_path / f"{subtype}.wav"
    blocks = random_blocks(channels, [4800, 1, 333, 0, 4801], seed=channels)
    expected = np.concatenate(blocks)
    with WavRecorder(path, sample_rate=44100, channels=channels, subtype=subtype) as rec:
        for block in blocks:
            rec.write(block)
        assert rec.frames_written == len(expected)
        assert rec.seconds == pytest.approx(len(expected) / 44100)
    assert rec.closed

    for data, rate in (read_wav(path), read_with_scipy(path, subtype),
                       soundfile.read(path, dtype="float32", always_2d=True)):
        assert rate == 44100
        assert_matches(data, expected, subtype)


@pytest.mark.parametrize("subtype", SUBTYPES)
def test_odd_sized_data_is_padded_on_close(tmp_path, subtype):
    path = tmp_path / "odd.wav"
    block = random_blocks(1, [5])[0]   # 5 frames of pcm24 mono: 15 bytes
    with WavRecorder(path, channels=1, subtype=subtype) as rec:
        rec.write(block)
    size = path.stat().st_size
    assert size % 2 == 0
    assert riff_size(path) == size - 8
    assert_matches(read_wav(path)[0], block, subtype)
    assert_matches(soundfile.read(path, dtype="float32", always_2d=True)[0], block, subtype)
    assert_matches(read_with_scipy(path, subtype)[0], block, subtype)


@pytest.mark.parametrize("subtype", ["pcm16", "pcm24"])
def test_pcm_clips_out_of_range_and_non_finite_samples(tmp_path, subtype):
    path = tmp_path / "clip.wav"
    block = np.array([[2.0], [-3.0], [1.0], [-1.0], [np.nan], [np.inf], [-np.inf]])
    with WavRecorder(path, channels=1, subtype=subtype) as rec:
        rec.write(block)
    expected = np.array([[1.0], [-1.0], [1.0], [-1.0], [0.0], [1.0], [-1.0]], dtype=np.float32)
    assert_matches(read_wav(path)[0], expected, subtype)


def test_float64_input_is_cast_to_float32(tmp_path):
    path = tmp_path / "f64.wav"
    block = np.random.default_rng(1).uniform(-1, 1, (100, 2))
    with WavRecorder(path) as rec:
        rec.write(block)
    assert_matches(read_wav(path)[0], block.astype(np.float32), "float32")


# -- the header is right after every write --------------------------------------

@pytest.mark.parametrize("subtype", SUBTYPES)
def test_header_sizes_are_correct_after_every_write(tmp_path, subtype):
    path = tmp_path / "live.wav"
    channels = 2
    blocks = random_blocks(channels, [480, 1, 4800, 77, 1024])
    sample_bytes = {"float32": 4, "pcm16": 2, "pcm24": 3}[subtype]
    rec = WavRecorder(path, sample_rate=48000, channels=channels, subtype=subtype)
    try:
        assert read_wav(path)[0].shape == (0, channels)
        for i, block in enumerate(blocks, start=1):
            rec.write(block)
            so_far = np.concatenate(blocks[:i])
            assert rec.frames_written == len(so_far)

            # Readers opening the file while it is being recorded see all of it.
            data, rate = read_wav(path)
            assert rate == 48000
            assert_matches(data, so_far, subtype)
            assert soundfile.info(str(path)).frames == len(so_far)

            found = chunks(path)
            data_offset, data_size = found[b"data"]
            assert data_size == len(so_far) * channels * sample_bytes
            assert path.stat().st_size == data_offset + data_size
            assert riff_size(path) == path.stat().st_size - 8
            if subtype == "float32":
                fact_offset, _ = found[b"fact"]
                assert struct.unpack("<I", path.read_bytes()[fact_offset:fact_offset + 4])[0] == len(so_far)
            else:
                assert b"fact" not in found
    finally:
        rec.close()


def test_close_fsyncs_once_and_writes_do_not(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    rec = WavRecorder(tmp_path / "sync.wav")
    for block in random_blocks(2, [100, 100, 100]):
        rec.write(block)
    assert synced == []
    rec.close()
    rec.close()
    assert len(synced) == 1


# -- kill -9 ----------------------------------------------------------------------

BLOCK_FRAMES = 4800
CHANNELS = 2
# Stops a child that outruns the parent from filling the disk; it then idles until killed.
MAX_CHILD_BLOCKS = 500

CHILD_SOURCE = "import numpy as np\n" + inspect.getsource(deterministic_block) + """
import sys, time
from livemusic_kernel.recorder import WavRecorder

path, frames, channels, max_blocks = sys.argv[1], *map(int, sys.argv[2:5])
rec = WavRecorder(path, sample_rate=48000, channels=channels, subtype="float32")
written = 0
while True:
    if written < max_blocks:
        rec.write(deterministic_block(written, frames, channels))
        written += 1
        print(written, flush=True)
    else:
        time.sleep(0.1)
"""


@pytest.mark.parametrize("kill_after", [20, 23, 29, 38, 51])
def test_recording_survives_kill_9(tmp_path, kill_after):
    path = tmp_path / "killed.wav"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SOURCE, str(path), str(BLOCK_FRAMES), str(CHANNELS), str(MAX_CHILD_BLOCKS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    reported = 0
    try:
        for line in child.stdout:
            reported = int(line)
            if reported >= kill_after:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        # Read through the file object: it may hold lines read ahead of the break.
        more_out, err = child.stdout.read(), child.stderr.read()
        child.stdout.close()
        child.stderr.close()
        child.wait()
    assert reported >= kill_after, f"child stopped early: {err}"
    assert child.returncode == -signal.SIGKILL
    # Blocks the child reported between our read and the kill are on disk too.
    reported = max([reported, *map(int, more_out.split())])

    block_bytes = BLOCK_FRAMES * CHANNELS * 4
    data_offset, data_size = chunks(path)[b"data"]
    assert data_size % block_bytes == 0
    blocks_on_disk = data_size // block_bytes
    # The kill may land after a block is written but before it is reported.
    assert blocks_on_disk in (reported, reported + 1)
    # Unclaimed bytes are at most the one block that was being appended; exactly
    # one block when the kill lands between the data write and the header patch.
    assert path.stat().st_size - (data_offset + data_size) <= block_bytes

    expected = np.concatenate([deterministic_block(i, BLOCK_FRAMES, CHANNELS) for i in range(blocks_on_disk)])
    for data, rate in (read_wav(path), read_with_scipy(path, "float32"),
                       soundfile.read(path, dtype="float32", always_2d=True)):
        assert rate == 48000
        assert len(data) % BLOCK_FRAMES == 0
        assert_matches(data, expected, "float32")


# -- reading robustness --------------------------------------------------------------

def test_read_wav_skips_unknown_chunks_and_ignores_trailing_bytes(tmp_path):
    path = tmp_path / "plain.wav"
    block = random_blocks(2, [300])[0]
    with WavRecorder(path, subtype="pcm16") as rec:
        rec.write(block)
    original = path.read_bytes()
    odd_chunk = b"junk" + struct.pack("<I", 5) + b"abcde" + b"\0"   # odd size, so padded
    riff = b"RIFF" + struct.pack("<I", len(original) - 8 + len(odd_chunk)) + b"WAVE"
    path.write_bytes(riff + odd_chunk + original[12:] + b"trailing garbage")
    data, rate = read_wav(path)
    assert rate == 48000
    assert_matches(data, block, "pcm16")


def test_read_wav_reads_whole_frames_of_a_file_cut_mid_data(tmp_path):
    path = tmp_path / "cut.wav"
    block = random_blocks(2, [100])[0]
    with WavRecorder(path) as rec:
        rec.write(block)
    path.write_bytes(path.read_bytes()[:-13])   # 13 bytes short: 1 frame and a bit
    assert_matches(read_wav(path)[0], block[:98], "float32")


# -- errors ----------------------------------------------------------------------------

def test_unknown_subtype_lists_the_choices(tmp_path):
    with pytest.raises(ValueError, match="pcm8") as info:
        WavRecorder(tmp_path / "x.wav", subtype="pcm8")
    for name in SUBTYPES:
        assert name in str(info.value)
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("kwargs, what", [
    ({"sample_rate": 0}, "sample_rate"), ({"sample_rate": -48000}, "sample_rate"),
    ({"sample_rate": 44100.5}, "sample_rate"), ({"channels": 0}, "channels"), ({"channels": -2}, "channels"),
])
def test_invalid_rate_or_channels_say_what_is_valid(tmp_path, kwargs, what):
    with pytest.raises(ValueError, match=f"{what} must be a positive whole number"):
        WavRecorder(tmp_path / "x.wav", **kwargs)


@pytest.mark.parametrize("shape", [(100,), (100, 1), (100, 3), (2, 100, 2)])
def test_wrong_block_shape_names_expected_and_got(tmp_path, shape):
    with WavRecorder(tmp_path / "x.wav", channels=2) as rec:
        with pytest.raises(ValueError) as info:
            rec.write(np.zeros(shape, dtype=np.float32))
        assert "(frames, 2)" in str(info.value)
        assert str(shape) in str(info.value)
        assert rec.frames_written == 0


def test_integer_block_is_rejected(tmp_path):
    with WavRecorder(tmp_path / "x.wav") as rec:
        with pytest.raises(TypeError, match="int16"):
            rec.write(np.zeros((10, 2), dtype=np.int16))


def test_write_after_close_raises_and_close_is_idempotent(tmp_path):
    path = tmp_path / "x.wav"
    with WavRecorder(path) as rec:
        rec.write(np.zeros((10, 2), dtype=np.float32))
    rec.close()
    with pytest.raises(SinkError, match="closed"):
        rec.write(np.zeros((10, 2), dtype=np.float32))
    assert read_wav(path)[0].shape == (10, 2)


def test_missing_directory_names_path_and_reason(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "take1.wav"
    with pytest.raises(SinkError) as info:
        WavRecorder(path)
    assert str(path) in str(info.value)
    assert os.strerror(2) in str(info.value)   # ENOENT


@pytest.mark.parametrize("content", [b"", b"hello, this is not audio at all", b"RIFX\0\0\0\0WAVE", b"RIFF\0\0\0\0AVI "])
def test_reading_a_non_wav_file_raises(tmp_path, content):
    path = tmp_path / "not.wav"
    path.write_bytes(content)
    with pytest.raises(SinkError, match="not a WAV file"):
        read_wav(path)


@pytest.mark.parametrize("subtype", SUBTYPES)
def test_reading_a_truncated_header_raises(tmp_path, subtype):
    path = tmp_path / "full.wav"
    with WavRecorder(path, subtype=subtype) as rec:
        rec.write(random_blocks(2, [10])[0])
    whole = path.read_bytes()
    header_len = chunks(path)[b"data"][0]
    cut = tmp_path / "cut.wav"
    for length in range(header_len):
        cut.write_bytes(whole[:length])
        with pytest.raises(SinkError, match="not a WAV file|truncated"):
            read_wav(cut)


def test_reading_a_missing_file_raises(tmp_path):
    with pytest.raises(SinkError, match="cannot open"):
        read_wav(tmp_path / "nope.wav")


@pytest.mark.parametrize("subtype", SUBTYPES)
def test_full_file_is_refused_without_corrupting_it(tmp_path, monkeypatch, subtype):
    path = tmp_path / "full.wav"
    block = random_blocks(2, [1000])[0]
    with WavRecorder(path, subtype=subtype) as rec:
        header_len = path.stat().st_size
        block_bytes = len(block) * 2 * {"float32": 4, "pcm16": 2, "pcm24": 3}[subtype]
        # Room for exactly three blocks under a shrunken RIFF limit.
        monkeypatch.setattr(recorder_mod, "MAX_RIFF_SIZE", header_len - 8 + 3 * block_bytes)
        for _ in range(3):
            rec.write(block)
        size_before = path.stat().st_size
        with pytest.raises(SinkError, match="full.*start a new recording"):
            rec.write(block)
        assert rec.frames_written == 3 * len(block)
        assert path.stat().st_size == size_before
        with pytest.raises(SinkError, match="full"):
            rec.write(block[:1])
    data, _ = read_wav(path)
    assert_matches(data, np.concatenate([block] * 3), subtype)
    assert_matches(soundfile.read(path, dtype="float32", always_2d=True)[0], data, "float32")


# -- the whole engine, killed hard ---------------------------------------------------

@pytest.mark.parametrize("after_blocks", [30, 77])
def test_lmk_play_killed_with_sigkill_leaves_a_valid_recording(tmp_path, after_blocks):
    """`kill -9` during `lmk play --record`: the WAV is valid, holds whole blocks, misses at
    most the one block being written, and its audio is exactly what replaying the log gives."""
    from livemusic_kernel import render_session

    wav, log = tmp_path / "set.wav", tmp_path / "set.jsonl"
    child = subprocess.Popen([sys.executable, "-m", "livemusic_kernel.cli", "play", "--sink", "null",
                              "--prompt", "C4", "--record", str(wav), "--log", str(log), "--status", "0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    block_bytes = 1920 * 2 * 4
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if wav.exists() and wav.stat().st_size > 100 + after_blocks * block_bytes:
                break
            time.sleep(0.01)
        else:
            pytest.fail("lmk play did not record")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    audio, rate = read_wav(wav)
    declared = len(audio) * 2 * 4
    on_disk = wav.stat().st_size - _data_offset(wav)
    assert rate == 48000 and len(audio) >= after_blocks * 1920
    assert 0 <= on_disk - declared <= block_bytes
    frames, _ = render_session(log, tmp_path / "replay.wav", frames=len(audio))
    replayed, _ = read_wav(tmp_path / "replay.wav")
    assert np.array_equal(audio, replayed)


def _data_offset(path) -> int:
    """Where the data chunk's samples start in a WAV file."""
    blob = Path(path).read_bytes()
    return blob.index(b"data") + 8
