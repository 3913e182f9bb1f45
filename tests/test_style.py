"""Tests for livemusic_kernel.style: the style algebra, blending, interpolation,
prompts and prompt slots."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from livemusic_kernel.audio import AudioClip
from livemusic_kernel.errors import StyleError, StyleSpaceError
from livemusic_kernel.models.base import Backend
from livemusic_kernel.models.click import CLICK_SPACE, ClickBackend
from livemusic_kernel.style import Prompt, Slot, Slots, Style, StyleSpace, blend, lerp, slerp

RATE = 48000
CLICK = ClickBackend()

#: A second space of the same size as click/1, so only the space (not the size) differs.
OTHER_SPACE = StyleSpace("other/2", 5)


def click(pitch: float = 60.0, **dims) -> Style:
    return CLICK.style_for(pitch=pitch, **dims)


def other(*values: float) -> Style:
    return Style(values or (1.0, 2.0, 3.0, 4.0, 5.0), OTHER_SPACE, "other")


def vec(*values: float) -> Style:
    """A click-space style with exactly these five coordinates."""
    return Style(values, CLICK_SPACE, "v")


def sine(freq: float, seconds: float = 1.0, rate: int = RATE, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


TINY_SPACE = StyleSpace("tiny/1", 2, ("letters", "seconds"))


class TinyBackend(Backend):
    """A second backend with its own two-dimensional space: text embeds as its
    length, audio as its duration."""

    name = "tiny"
    style_space = TINY_SPACE

    def embed_text(self, text):
        return Style([float(len(text)), 0.0], TINY_SPACE)

    def embed_audio(self, clip):
        return Style([0.0, clip.seconds], TINY_SPACE)

    def default_style(self):
        return Style([0.0, 0.0], TINY_SPACE, "silence")

    def initial_state(self):
        return None

    def step(self, state, request):
        return np.zeros((request.frames, self.channels), np.float32), state


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=5, max_size=5)


# -- StyleSpace ---------------------------------------------------------------

def test_style_space_rejects_bad_sizes():
    """A space needs a positive size and one name per dimension, if named."""
    with pytest.raises(ValueError):
        StyleSpace("empty", 0)
    with pytest.raises(ValueError, match="2 dimension names for size 3"):
        StyleSpace("bad", 3, ("a", "b"))
    assert str(StyleSpace("fine/1", 2)) == "fine/1"


# -- construction ---------------------------------------------------------------

@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_vector_raises(bad):
    """A style with NaN or infinity in any coordinate cannot be built."""
    with pytest.raises(StyleError, match="finite"):
        vec(1.0, 2.0, bad, 4.0, 5.0)


@pytest.mark.parametrize("size", [0, 4, 6])
def test_wrong_size_raises(size):
    """A style must have exactly the space's number of values."""
    with pytest.raises(StyleError, match=rf"has 5 values, got {size}"):
        Style(np.ones(size), CLICK_SPACE)


def test_vector_is_a_readonly_float64_copy():
    """The style copies its input and cannot be changed through .vector."""
    source = np.array([1, 2, 3, 4, 5], dtype=np.int32)
    style = Style(source, CLICK_SPACE)
    source[0] = 99
    assert style.vector.dtype == np.float64
    assert style.vector[0] == 1.0
    with pytest.raises(ValueError):
        style.vector[0] = 7.0


def test_len_norm_and_asarray():
    """len() is the space size, norm() the Euclidean length, asarray the vector."""
    style = vec(3.0, 4.0, 0.0, 0.0, 0.0)
    assert len(style) == 5
    assert style.norm() == 5.0
    np.testing.assert_array_equal(np.asarray(style), [3, 4, 0, 0, 0])
    assert np.asarray(style, dtype=np.float32).dtype == np.float32


# -- algebra --------------------------------------------------------------------

def test_add_subtract_negate():
    """+, - and unary - work coordinate by coordinate and keep the space."""
    a, b = vec(1, 2, 3, 4, 5), vec(10, 20, 30, 40, 50)
    assert (a + b) == vec(11, 22, 33, 44, 55)
    assert (b - a) == vec(9, 18, 27, 36, 45)
    assert (-a) == vec(-1, -2, -3, -4, -5)
    assert (a + b).space is CLICK_SPACE and (-a).space is CLICK_SPACE


def test_operations_leave_operands_unchanged():
    """Every operation returns a new style; its inputs keep their values."""
    a, b = vec(1, 2, 3, 4, 5), vec(5, 4, 3, 2, 1)
    _ = a + b, a - b, -a, 2 * a, a / 2
    assert a == vec(1, 2, 3, 4, 5) and b == vec(5, 4, 3, 2, 1)


SCALARS = [2, 2.5, -0.5, Fraction(1, 4), np.float64(2.5), np.float32(0.5), np.int64(3), np.int16(-2)]


@pytest.mark.parametrize("factor", SCALARS, ids=lambda f: f"{type(f).__name__}({f})")
def test_scalar_multiplication_on_both_sides(factor):
    """style * k and k * style are styles scaled by k, numpy scalars included."""
    a = vec(1, -2, 3, 0.25, 8)
    expected = a.vector * float(factor)
    for result in (a * factor, factor * a):
        assert isinstance(result, Style), type(result)
        assert result.space == CLICK_SPACE
        np.testing.assert_array_equal(result.vector, expected)


@pytest.mark.parametrize("divisor", [4, 0.5, np.float64(4), np.float32(0.5), np.int64(-2), Fraction(1, 2)],
                         ids=repr)
def test_division_by_a_scalar(divisor):
    """style / k divides every coordinate by k."""
    a = vec(1, -2, 3, 0.25, 8)
    result = a / divisor
    assert isinstance(result, Style)
    np.testing.assert_array_equal(result.vector, a.vector / float(divisor))


@pytest.mark.parametrize("zero", [0, 0.0, -0.0, np.float64(0), np.int32(0), Fraction(0)], ids=repr)
def test_division_by_zero_raises(zero):
    """Dividing a style by zero is a StyleError, not inf or a numpy warning."""
    with pytest.raises(StyleError, match="divide a style by zero"):
        vec(1, 2, 3, 4, 5) / zero


@pytest.mark.parametrize("operand", [True, "2", None, [1, 2, 3, 4, 5]], ids=repr)
def test_non_real_factors_are_rejected(operand):
    """Only real numbers scale a style: bools, strings, lists are TypeErrors."""
    a = vec(1, 2, 3, 4, 5)
    with pytest.raises(TypeError):
        a * operand
    with pytest.raises(TypeError):
        a / operand


def test_style_times_style_is_a_type_error():
    """Two styles do not multiply (and a style plus a number is not defined)."""
    a = vec(1, 2, 3, 4, 5)
    with pytest.raises(TypeError):
        a * a
    with pytest.raises(TypeError):
        a + 1


@pytest.mark.parametrize("combine", [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: blend([a, b]),
    lambda a, b: lerp(a, b, 0.5),
    lambda a, b: slerp(a, b, 0.5),
], ids=["add", "subtract", "blend", "lerp", "slerp"])
def test_combining_two_spaces_names_both(combine):
    """Styles of two spaces never mix; the error names both spaces."""
    with pytest.raises(StyleSpaceError) as caught:
        combine(click(), other())
    message = str(caught.value)
    assert "click/1" in message and "other/2" in message


def test_style_space_error_is_a_style_error_and_value_error():
    """StyleSpaceError can be caught as StyleError or ValueError."""
    with pytest.raises(StyleError):
        click() + other()
    with pytest.raises(ValueError):
        click() + other()


# -- equality, hashing ----------------------------------------------------------

def test_equality_compares_space_and_vector_not_label():
    """Equal means same space and same coordinates; the label does not count."""
    assert Style([1, 2, 3, 4, 5], CLICK_SPACE, "x") == Style([1, 2, 3, 4, 5], CLICK_SPACE, "y")
    assert vec(1, 2, 3, 4, 5) != vec(1, 2, 3, 4, 5.000001)
    assert vec(1, 2, 3, 4, 5) != other(1, 2, 3, 4, 5)
    assert vec(1, 2, 3, 4, 5) != [1, 2, 3, 4, 5]
    assert vec(1, 2, 3, 4, 5) != "v"


def test_equal_styles_hash_equal():
    """Equal styles have equal hashes and collapse in a set; unequal ones stay apart."""
    a, b = Style([1, 2, 3, 4, 5], CLICK_SPACE, "a"), Style([1, 2, 3, 4, 5], CLICK_SPACE, "b")
    assert hash(a) == hash(b)
    assert len({a, b, vec(1, 2, 3, 4, 6), other(1, 2, 3, 4, 5)}) == 3
    assert {a: "found"}[b] == "found"


def test_zero_and_negative_zero_hash_equal():
    """-0.0 == 0.0, so styles differing only in the sign of a zero hash equal."""
    zero = click() - click()            # +0.0 everywhere
    negative_zero = 0.0 * (-click())    # -0.0 everywhere
    assert np.signbit(negative_zero.vector).all()
    assert zero == negative_zero
    assert hash(zero) == hash(negative_zero)
    assert len({zero, negative_zero}) == 1


# -- serialisation --------------------------------------------------------------

TRICKY = [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308]


def test_json_round_trip_is_bit_exact():
    """to_json -> json text -> from_json gives back the very same bits and label."""
    style = Style(TRICKY, CLICK_SPACE, "tricky ü")
    data = json.loads(json.dumps(style.to_json()))
    back = Style.from_json(data, CLICK_SPACE)
    assert back.vector.tobytes() == style.vector.tobytes()
    assert back.label == "tricky ü" and back.space == CLICK_SPACE
    assert data["space"] == "click/1"


@settings(deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=5, max_size=5))
def test_json_round_trip_is_bit_exact_for_any_finite_vector(values):
    """Any finite vector survives the JSON round trip bit for bit."""
    style = Style(values, CLICK_SPACE)
    back = Style.from_json(json.loads(json.dumps(style.to_json())), CLICK_SPACE)
    assert back.vector.tobytes() == style.vector.tobytes()


def test_from_json_with_the_wrong_space_raises():
    """A stored style is only read back into the space it was written from."""
    data = click().to_json()
    with pytest.raises(StyleSpaceError) as caught:
        Style.from_json(data, OTHER_SPACE)
    assert "click/1" in str(caught.value) and "other/2" in str(caught.value)


# -- readable views -------------------------------------------------------------

def test_repr_shows_label_space_and_strongest_dimensions():
    """repr names the label, the space and the four strongest named coordinates."""
    text = repr(CLICK.style_for(pitch=60))
    assert text.startswith("<Style 'click 60' in click/1: pitch=60, accent=12, level=0.5, decay=0.012")
    assert text.endswith(", ...>")
    assert "noise" not in text


def test_repr_of_small_unlabelled_style_has_no_ellipsis():
    """A style of four or fewer dimensions is shown whole, without a label."""
    style = Style([1.5, -2.0], StyleSpace("xy", 2, ("x", "y")))
    assert repr(style) == "<Style in xy: y=-2, x=1.5>"


def test_as_dict_uses_dimension_names_or_indices():
    """as_dict maps names (or '0', '1', ... for unnamed spaces) to plain floats."""
    named = click(pitch=61).as_dict()
    assert named == {"pitch": 61.0, "accent": 12.0, "decay": 0.012, "level": 0.5, "noise": 0.0}
    assert all(type(v) is float for v in named.values())
    assert other(5, 4, 3, 2, 1).as_dict() == {"0": 5.0, "1": 4.0, "2": 3.0, "3": 2.0, "4": 1.0}


def test_strongest_sorts_by_magnitude():
    """strongest() lists coordinates by absolute value, largest first, up to count."""
    style = vec(1.0, -9.0, 0.5, 4.0, -2.0)
    assert style.strongest() == [("accent", -9.0), ("level", 4.0), ("noise", -2.0),
                                 ("pitch", 1.0), ("decay", 0.5)]
    assert style.strongest(2) == [("accent", -9.0), ("level", 4.0)]
    assert style.strongest(0) == []


# -- blend ----------------------------------------------------------------------

def test_blend_is_the_normalised_weighted_average():
    """blend computes c = sum(w_i s_i) / sum(w_i), as in the papers."""
    a, b, c = vec(60, 12, 0.01, 0.5, 0), vec(72, 0, 0.02, 1.0, 0.3), vec(48, 6, 0.1, 0.2, 1.0)
    result = blend([a, b, c], [1, 2, 5])
    expected = (1 * a.vector + 2 * b.vector + 5 * c.vector) / 8
    np.testing.assert_allclose(result.vector, expected, rtol=1e-14)
    assert result.space == CLICK_SPACE


def test_blend_without_weights_is_the_mean():
    """No weights means equal weights."""
    result = blend([vec(0, 0, 0, 0, 0), vec(2, 4, 6, 8, 10)])
    assert result == vec(1, 2, 3, 4, 5)


def test_blend_accepts_iterators():
    """styles and weights may be any iterables, including generators."""
    styles = [vec(0, 0, 0, 0, 0), vec(4, 4, 4, 4, 4)]
    assert blend(iter(styles), (w for w in [3, 1])) == vec(1, 1, 1, 1, 1)


def test_blend_ignores_zero_weights():
    """A style with weight zero does not move the blend at all."""
    a = vec(60.3, 12, 0.013, 0.37, 0.1)
    assert blend([a, vec(1e6, -1e6, 3, 3, 3)], [0.7, 0.0]) == a


@pytest.mark.parametrize("weight", [0.05, 0.3, 0.7, 1.0, 3.0, 1e-200, 1e300])
def test_blend_of_one_style_is_that_style(weight):
    """The weighted average of a single style is exactly that style, whatever its weight."""
    a = vec(60.3, 12, 0.013, 0.37, 0.1)
    assert blend([a], [weight]) == a


def test_blend_weights_label():
    """The blend's label shows the normalised weights of its parts."""
    a, b = Style(np.zeros(5), CLICK_SPACE, "a"), Style(np.ones(5), CLICK_SPACE, "b")
    assert blend([a, b], [1, 3]).label == "0.25*a + 0.75*b"


@settings(deadline=None)
@given(
    values=st.lists(vectors, min_size=1, max_size=4),
    raw_weights=st.lists(st.floats(0, 1e3), min_size=4, max_size=4),
    scale=st.floats(1e-100, 1e100),
)
def test_blend_does_not_change_when_all_weights_are_scaled(values, raw_weights, scale):
    """Weights are normalised: multiplying all of them by one factor keeps the blend."""
    weights = raw_weights[:len(values)]
    assume(max(weights) > 1e-3)
    styles = [vec(*v) for v in values]
    base = blend(styles, weights)
    scaled = blend(styles, [w * scale for w in weights])
    span = max(abs(x) for v in values for x in v)
    np.testing.assert_allclose(scaled.vector, base.vector, rtol=1e-9, atol=1e-9 * span)


@settings(deadline=None)
@given(values=st.lists(vectors, min_size=1, max_size=4),
       raw_weights=st.lists(st.floats(0, 1e6), min_size=4, max_size=4))
def test_blend_stays_within_the_inputs(values, raw_weights):
    """Each coordinate of a blend lies between the smallest and largest input's."""
    weights = raw_weights[:len(values)]
    assume(sum(weights) > 0)
    result = blend([vec(*v) for v in values], weights).vector
    stacked = np.array(values)
    slack = 1e-9 * (np.abs(stacked).max() + 1)
    assert np.all(result >= stacked.min(axis=0) - slack)
    assert np.all(result <= stacked.max(axis=0) + slack)


@pytest.mark.parametrize("weight", [1e308, 5e-324])
def test_blend_handles_extreme_weights(weight):
    """Huge or tiny (but finite, positive) equal weights give the plain mean."""
    a, b = vec(60, 12, 0.012, 0.5, 0.0), vec(72, 0, 0.024, 1.0, 0.5)
    np.testing.assert_allclose(blend([a, b], [weight, weight]).vector,
                               blend([a, b]).vector, rtol=1e-15)


def test_blend_of_nothing_raises():
    """blend() needs at least one style."""
    with pytest.raises(StyleError, match="at least one style"):
        blend([])


@pytest.mark.parametrize("weights", [[1.0], [1.0, 2.0, 3.0], []])
def test_blend_with_mismatched_weight_count_raises(weights):
    """There must be one weight per style; the message gives both counts."""
    with pytest.raises(StyleError, match=f"2 styles but {len(weights)} weights"):
        blend([click(60), click(72)], weights)


@pytest.mark.parametrize("bad", [-1.0, -1e-12, math.nan, math.inf])
def test_blend_with_bad_weight_raises(bad):
    """Weights must be finite and non-negative."""
    with pytest.raises(StyleError, match="finite and >= 0"):
        blend([click(60), click(72)], [1.0, bad])


def test_blend_with_all_zero_weights_raises():
    """All-zero weights have no average; the message asks for a positive weight."""
    with pytest.raises(StyleError, match="give at least one style a positive weight"):
        blend([click(60), click(72)], [0, 0.0])


def test_blend_mixed_spaces_raises_even_with_zero_weight():
    """A style of another space is an error even if its weight is zero."""
    with pytest.raises(StyleSpaceError):
        blend([click(), other()], [1.0, 0.0])


# -- lerp and slerp -------------------------------------------------------------

def unit(*values: float) -> Style:
    v = np.array(values, dtype=float)
    return vec(*(v / np.linalg.norm(v)))


def test_lerp_endpoints_and_midpoint():
    """lerp gives a at t=0, b at t=1 (exactly) and their mean at t=0.5."""
    a, b = vec(60, 12, 0.012, 0.5, 0.0), vec(72, -3, 0.02, 0.25, 1.0)
    assert lerp(a, b, 0) == a
    assert lerp(a, b, 1) == b
    np.testing.assert_allclose(lerp(a, b, 0.5).vector, (a.vector + b.vector) / 2, rtol=1e-15)


def test_slerp_endpoints():
    """slerp gives a at t=0 and b at t=1, up to rounding."""
    a, b = vec(60, 12, 0.012, 0.5, 0.0), vec(3, -30, 0.02, 0.25, 1.0)
    np.testing.assert_allclose(slerp(a, b, 0).vector, a.vector, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(slerp(a, b, 1).vector, b.vector, rtol=1e-12, atol=1e-12)


def test_slerp_keeps_unit_norm_where_lerp_sags():
    """Between two unit styles slerp stays on the unit sphere; lerp's midpoint is shorter."""
    a, b = unit(1, 0, 0, 0, 0), unit(0, 1, 0, 0, 0)
    for t in np.linspace(0, 1, 11):
        assert slerp(a, b, t).norm() == pytest.approx(1.0, abs=1e-12)
    assert lerp(a, b, 0.5).norm() == pytest.approx(math.sqrt(0.5), abs=1e-12)


def test_slerp_moves_at_constant_angular_speed():
    """slerp's angle from a grows linearly with t, reaching the full angle at t=1."""
    a, b = unit(1, 0, 0, 0, 0), unit(1, 1, 0, 0, 0)  # 45 degrees apart
    for t in (0.25, 0.5, 0.75):
        point = slerp(a, b, t).vector
        angle = math.acos(np.dot(point, a.vector) / np.linalg.norm(point))
        assert angle == pytest.approx(t * math.pi / 4, abs=1e-9)


@settings(deadline=None)
@given(a=vectors, b=vectors, t=st.floats(0, 1))
def test_slerp_norm_moves_linearly_between_the_norms(a, b, t):
    """slerp's length is (1-t)|a| + t|b|, whatever the directions."""
    sa, sb = vec(*a), vec(*b)
    assume(sa.norm() > 1e-3 and sb.norm() > 1e-3)
    cosine = np.dot(sa.vector, sb.vector) / (sa.norm() * sb.norm())
    assume(abs(cosine) < 1 - 1e-6)  # away from the parallel fallback
    expected = (1 - t) * sa.norm() + t * sb.norm()
    assert slerp(sa, sb, t).norm() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("a, b", [
    (vec(0, 0, 0, 0, 0), vec(1, 2, 3, 4, 5)),       # zero style
    (vec(1, 2, 3, 4, 5), vec(0, 0, 0, 0, 0)),
    (vec(1, 2, 3, 4, 5), vec(2, 4, 6, 8, 10)),      # parallel
    (vec(1, 2, 3, 4, 5), vec(-1, -2, -3, -4, -5)),  # antiparallel
], ids=["zero-first", "zero-second", "parallel", "antiparallel"])
@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 1.0])
def test_slerp_falls_back_to_lerp(a, b, t):
    """Where the great circle is undefined slerp is exactly lerp."""
    assert slerp(a, b, t) == lerp(a, b, t)


def test_slerp_of_antiparallel_styles_passes_through_zero():
    """The fallback for opposite styles really is the straight line (zero at the middle)."""
    a = vec(1, 2, 3, 4, 5)
    assert slerp(a, -a, 0.5).norm() == 0.0


@pytest.mark.parametrize("interpolate", [lerp, slerp])
@pytest.mark.parametrize("t", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_interpolation_rejects_non_finite_t(interpolate, t):
    """The interpolation position must be a finite number."""
    with pytest.raises(StyleError, match="finite"):
        interpolate(click(60), click(72), t)


# -- prompts --------------------------------------------------------------------

@pytest.fixture
def wav(tmp_path) -> Path:
    path = tmp_path / "a440.wav"
    soundfile.write(path, sine(440.0, 0.25), RATE)
    return path


def test_of_text_strips_and_keeps_weight():
    """A text prompt keeps its stripped text and weight."""
    prompt = Prompt.of_text("  minimal techno \n", weight=0.25)
    assert (prompt.kind, prompt.text, prompt.weight, prompt.path, prompt.clip) == \
        ("text", "minimal techno", 0.25, None, None)


@pytest.mark.parametrize("empty", ["", "   ", "\n\t"])
def test_empty_text_prompt_raises(empty):
    """A text prompt needs some words."""
    with pytest.raises(StyleError, match="cannot be empty"):
        Prompt.of_text(empty)


@pytest.mark.parametrize("build", [
    lambda w: Prompt.of_text("piano", w),
    lambda w: Prompt.of_audio("x.wav", w),
    lambda w: Prompt.of_audio(np.zeros(10), w),
    lambda w: Prompt.of("piano", w),
    lambda w: Prompt.of(Prompt.of_text("piano"), w),
    lambda w: Prompt.of_text("piano") * w,
], ids=["of_text", "of_audio-path", "of_audio-array", "of", "of-prompt", "times"])
@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan, math.inf])
def test_negative_or_non_finite_weight_raises(build, bad):
    """Every way of making a prompt rejects a negative or non-finite weight."""
    with pytest.raises(StyleError, match="weight"):
        build(bad)


def test_of_audio_from_path(tmp_path):
    """A path (string or Path) gives an audio prompt that remembers the path."""
    for source in (str(tmp_path / "x.wav"), tmp_path / "x.wav"):
        prompt = Prompt.of_audio(source, weight=2)
        assert (prompt.kind, prompt.path, prompt.clip, prompt.weight) == \
            ("audio", tmp_path / "x.wav", None, 2.0)


def test_of_audio_expands_home(monkeypatch, tmp_path):
    """'~' in an audio path is the user's home folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Prompt.of_audio("~/loop.wav").path == tmp_path / "loop.wav"


def test_of_audio_from_array_and_clip():
    """An array becomes a clip at the given rate; a clip is kept as it is."""
    stereo = np.zeros((480, 2), np.float32)
    from_array = Prompt.of_audio(stereo, sample_rate=44100)
    assert from_array.kind == "audio" and from_array.path is None
    assert (from_array.clip.frames, from_array.clip.channels, from_array.clip.sample_rate) == (480, 2, 44100)
    clip = AudioClip.from_array(np.zeros(100), 22050)
    assert Prompt.of_audio(clip, 0.5).clip is clip


def test_of_guesses_an_existing_wav_as_audio(wav):
    """A string naming an existing audio file is an audio prompt."""
    prompt = Prompt.of(str(wav))
    assert prompt.kind == "audio" and prompt.path == wav


def test_of_guesses_an_existing_uppercase_wav_as_audio(tmp_path):
    """The suffix check ignores case."""
    path = tmp_path / "LOOP.WAV"
    soundfile.write(path, sine(440, 0.1), RATE)
    assert Prompt.of(str(path)).kind == "audio"


def test_of_refuses_a_missing_audio_file_rather_than_reading_it_as_text(tmp_path):
    """A string ending in .wav that names no file is a mistyped path: say so."""
    name = str(tmp_path / "missing.wav")
    with pytest.raises(StyleError, match="audio file not found: .*missing.wav"):
        Prompt.of(name)


def test_of_treats_an_existing_non_audio_file_name_as_text(tmp_path):
    """An existing file without an audio suffix is not taken as audio."""
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert Prompt.of(str(path)).kind == "text"


def test_of_plain_text_path_array_and_clip():
    """Plain words are text; Path objects, arrays and clips are audio."""
    assert Prompt.of("dub techno").kind == "text"
    assert Prompt.of(Path("never/there.wav")).kind == "audio"
    assert Prompt.of(np.zeros(64)).kind == "audio"
    assert Prompt.of(AudioClip.from_array(np.zeros(64))).kind == "audio"


def test_of_a_prompt_keeps_it_or_overrides_its_weight():
    """Prompt.of(prompt) is the prompt; with a weight it is a copy with that weight."""
    prompt = Prompt.of_text("jazz", 0.5)
    assert Prompt.of(prompt) is prompt
    heavier = Prompt.of(prompt, 2.0)
    assert heavier.weight == 2.0 and heavier.text == "jazz"
    assert prompt.weight == 0.5


def test_of_a_style_raises():
    """A Style is already embedded and is not a prompt."""
    with pytest.raises(StyleError, match="already embedded"):
        Prompt.of(click())


@pytest.mark.parametrize("factor", [0.5, np.float64(0.5), np.float32(0.5), Fraction(1, 2)], ids=repr)
def test_scaling_a_prompt_scales_its_weight(factor):
    """0.5 * prompt and prompt * 0.5 halve the weight and leave the original alone."""
    prompt = Prompt.of_text("ambient", 3.0)
    for scaled in (factor * prompt, prompt * factor):
        assert isinstance(scaled, Prompt)
        assert scaled.weight == 1.5 and scaled.text == "ambient"
    assert prompt.weight == 3.0


def test_prompts_do_not_multiply_with_non_numbers():
    """A prompt times a prompt (or a string) is a TypeError."""
    prompt = Prompt.of_text("ambient")
    with pytest.raises(TypeError):
        prompt * prompt
    with pytest.raises(TypeError):
        prompt * "2"


def test_text_prompt_describe_round_trip():
    """describe() of a text prompt reads back (through JSON) as the same prompt."""
    prompt = Prompt.of_text("lofi hip hop", 0.3)
    data = json.loads(json.dumps(prompt.describe()))
    assert data == {"kind": "text", "text": "lofi hip hop", "weight": 0.3}
    back = Prompt.from_description(data)
    assert (back.kind, back.text, back.weight) == ("text", "lofi hip hop", 0.3)


def test_file_audio_prompt_describe_round_trip(wav):
    """describe() of a file prompt stores the path, which reads back as the same prompt."""
    prompt = Prompt.of_audio(wav, 0.75)
    data = json.loads(json.dumps(prompt.describe()))
    assert data == {"kind": "audio", "path": str(wav), "weight": 0.75}
    back = Prompt.from_description(data)
    assert (back.kind, back.path, back.weight) == ("audio", wav, 0.75)
    assert back.describe() == prompt.describe()


def test_in_memory_audio_describes_with_a_hash():
    """In-memory audio is described by a hash of its samples, frames and rate,
    and cannot be rebuilt from that description."""
    samples = sine(440, 0.1)
    prompt = Prompt.of_audio(samples, 0.5, sample_rate=RATE)
    data = prompt.describe()
    assert set(data) == {"kind", "array", "frames", "sample_rate", "weight"}
    assert len(data["array"]) == 16 and int(data["array"], 16) >= 0
    assert (data["frames"], data["sample_rate"], data["weight"]) == (len(samples), RATE, 0.5)
    assert Prompt.of_audio(samples.copy()).describe()["array"] == data["array"]
    assert Prompt.of_audio(sine(441, 0.1)).describe()["array"] != data["array"]
    assert Prompt.from_description(json.loads(json.dumps(data))) is None


def test_from_description_of_unknown_kind_is_none():
    """A description that names neither text nor a file gives None."""
    assert Prompt.from_description({"kind": "midi", "weight": 1.0}) is None
    assert Prompt.from_description({}) is None


def test_load_of_text_prompt_raises():
    """A text prompt has no audio to load."""
    with pytest.raises(StyleError, match="has no audio"):
        Prompt.of_text("techno").load()


def test_load_of_audio_prompts(wav):
    """load() returns the clip of an in-memory prompt, or reads the prompt's file."""
    clip = AudioClip.from_array(np.zeros(32), 8000)
    assert Prompt.of_audio(clip).load() is clip
    loaded = Prompt.of_audio(wav).load()
    assert (loaded.frames, loaded.sample_rate) == (RATE // 4, RATE)


def test_load_of_missing_file_raises(tmp_path):
    """A file prompt whose file is gone raises a StyleError naming it."""
    with pytest.raises(StyleError, match="gone.wav"):
        Prompt.of_audio(tmp_path / "gone.wav").load()


def test_prompt_kind_must_be_text_or_audio():
    """Only text and audio prompts exist."""
    with pytest.raises(ValueError, match="'midi'"):
        Prompt("midi")


def test_prompt_str_and_repr():
    """A prompt prints as what it is and its weight."""
    assert str(Prompt.of_text("piano", 0.5)) == "piano (0.5)"
    assert repr(Prompt.of_text("piano")) == "Prompt(text: piano (1))"
    assert str(Prompt.of_audio(np.zeros(4))) == "<audio array> (1)"


# -- slots ----------------------------------------------------------------------

def slot(name: str, source, weight: float = 1.0, backend: Backend = CLICK) -> Slot:
    """A slot the way the engine builds one: the prompt next to its embedding."""
    prompt = Prompt.of(source, weight)
    return Slot(name, backend.embed(prompt), prompt.weight, prompt)


@pytest.fixture
def two() -> Slots:
    return Slots([slot("low", "C4", 1.0), slot("high", "C5", 3.0)])


def test_slots_is_an_ordered_mapping(two):
    """Slots are looked up by name and iterate in insertion order."""
    assert list(two) == ["low", "high"] and len(two) == 2
    assert two["low"].style.vector[0] == 60.0
    assert "high" in two and "mid" not in two
    assert two.get("mid") is None


def test_with_slot_returns_a_new_object(two):
    """with_slot adds (or replaces in place) a slot without touching the original."""
    added = two.with_slot(slot("mid", "E4"))
    assert list(added) == ["low", "high", "mid"]
    assert list(two) == ["low", "high"]
    replaced = two.with_slot(slot("low", "D4", 2.0))
    assert list(replaced) == ["low", "high"]
    assert replaced["low"].style.vector[0] == 62.0 and replaced["low"].weight == 2.0
    assert two["low"].style.vector[0] == 60.0 and two["low"].weight == 1.0


def test_with_weight_returns_a_new_object(two):
    """with_weight changes one slot's weight in a copy."""
    changed = two.with_weight("high", 0.5)
    assert changed["high"].weight == 0.5 and two["high"].weight == 3.0
    assert changed["high"].style == two["high"].style
    assert changed["high"].prompt is two["high"].prompt


@pytest.mark.parametrize("bad", [-0.5, math.nan, math.inf])
def test_with_weight_rejects_bad_weights(two, bad):
    """A slot weight must be finite and non-negative."""
    with pytest.raises(StyleError):
        two.with_weight("low", bad)


def test_without_returns_a_new_object(two):
    """without removes a slot in a copy."""
    fewer = two.without("low")
    assert list(fewer) == ["high"] and list(two) == ["low", "high"]


@pytest.mark.parametrize("use", [
    lambda s: s["mid"], lambda s: s.without("mid"), lambda s: s.with_weight("mid", 1.0),
], ids=["getitem", "without", "with_weight"])
def test_missing_slot_raises_key_error_listing_the_slots(two, use):
    """Using a slot that does not exist names it and lists the slots there are."""
    with pytest.raises(KeyError) as caught:
        use(two)
    message = str(caught.value)
    assert "'mid'" in message and "'low'" in message and "'high'" in message


def test_missing_slot_of_empty_slots_says_none():
    """With no slots at all the KeyError says so."""
    with pytest.raises(KeyError, match="slots: none"):
        Slots()["x"]


def test_style_blends_slots_by_weight(two):
    """The style in force is the weight-normalised blend: (1*60 + 3*72) / 4 = 69."""
    style = two.style()
    assert style.vector[0] == pytest.approx(69.0, abs=1e-12)
    assert style == blend([two["low"].style, two["high"].style], [1.0, 3.0])


def test_style_skips_slots_without_weight(two):
    """A slot at weight zero does not count."""
    assert two.with_weight("high", 0.0).style() == two["low"].style


def test_single_slot_style_is_its_style():
    """One slot at any weight gives exactly its own style."""
    single = Slots([slot("only", "midi 60.3", 0.7)])
    assert single.style() == single["only"].style


def test_style_is_none_without_weight(two):
    """No slots, or only weightless ones, give None (the backend's default)."""
    assert Slots().style() is None
    assert two.with_weight("low", 0).with_weight("high", 0).style() is None


def test_slots_mix_text_and_audio_prompts(tmp_path):
    """A text slot and an audio slot blend like any two styles (C4 and C5 -> 66)."""
    path = tmp_path / "c5.wav"
    soundfile.write(path, sine(440 * 2 ** (3 / 12), 1.0), RATE)
    mixed = Slots([slot("text", "C4", 0.5), slot("audio", str(path), 0.5)])
    assert mixed["audio"].prompt.kind == "audio"
    assert mixed.style().vector[0] == pytest.approx(66.0, abs=0.1)


def test_slot_describe():
    """A slot describes its name, weight, prompt and style for session logs."""
    described = slot("a", "C4", 0.5).describe()
    assert described["slot"] == "a" and described["weight"] == 0.5
    assert described["prompt"] == {"kind": "text", "text": "C4", "weight": 0.5}
    assert Style.from_json(described["style"], CLICK_SPACE).vector[0] == 60.0
    assert Slot("bare", click()).describe()["prompt"] is None


def test_reembed_moves_prompts_to_another_space(two, wav):
    """reembed embeds every prompt again with the new backend, keeping names, weights, order."""
    tiny = TinyBackend()
    slots = two.with_slot(slot("loop", str(wav), 2.0))
    moved = slots.reembed(tiny)
    assert list(moved) == ["low", "high", "loop"]
    for name in moved:
        assert moved[name].style.space == TINY_SPACE
        assert moved[name].weight == slots[name].weight
        assert moved[name].prompt is slots[name].prompt
    assert moved["low"].style == Style([2.0, 0.0], TINY_SPACE)    # "C4" has two letters
    assert moved["loop"].style == Style([0.0, 0.25], TINY_SPACE)  # a quarter second of audio
    assert slots["low"].style.space == CLICK_SPACE  # the original is unchanged
    back = moved.reembed(CLICK)
    assert all(back[name].style == slots[name].style for name in slots)


def test_reembed_keeps_styles_already_in_the_target_space(two):
    """Slots already in the backend's space are kept as they are, bare styles included."""
    tiny = TinyBackend()
    native = Slot("native", Style([7.0, 7.0], TINY_SPACE, "hand made"), 1.0)
    moved = two.with_slot(native).reembed(tiny)
    assert moved["native"] is native
    same = two.reembed(CLICK)
    assert all(same[name] is two[name] for name in two)


def test_reembed_of_a_bare_style_from_another_space_raises(two):
    """A bare style cannot be embedded again; the error names the slot and both spaces."""
    slots = two.with_slot(Slot("fixed", click(50)))
    with pytest.raises(StyleSpaceError) as caught:
        slots.reembed(TinyBackend())
    message = str(caught.value)
    assert "'fixed'" in message and "click/1" in message and "tiny/1" in message


def test_slots_repr_lists_prompts_and_weights(two):
    """repr shows each slot's prompt (or style label) and weight."""
    assert repr(two) == "Slots(low=C4 (1)@1, high=C5 (3)@3)"
    assert repr(Slots([Slot("bare", click(50))])) == "Slots(bare=click 50@1)"
