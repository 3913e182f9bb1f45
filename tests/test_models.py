"""The backend registry and protocol."""

import pytest

from livemusic_kernel.errors import BackendError
from livemusic_kernel.models import DEFAULT_BACKEND, available_backends, get_backend
from livemusic_kernel.models.base import Backend
from livemusic_kernel.models.click import ClickBackend


def test_backends_are_found_by_name_and_instances_pass_through():
    assert DEFAULT_BACKEND in available_backends()
    click = get_backend("click")
    assert isinstance(click, Backend) and get_backend(click) is click
    assert get_backend(None).name == DEFAULT_BACKEND


def test_bad_names_and_options_are_explained():
    with pytest.raises(ValueError, match="unknown backend 'magentaa'; choose one of: builtin, click"):
        get_backend("magentaa")
    with pytest.raises(BackendError, match="does not take these options"):
        get_backend("click", size="large")
    with pytest.raises(BackendError, match="apply to a backend name"):
        get_backend(ClickBackend(), size="large")


def test_a_backend_describes_itself():
    info = ClickBackend().describe()
    assert info["capabilities"]["variable_blocks"] is True
    assert info["style_space"] == "click/1" and info["sample_rate"] == 48000


def test_similarity_is_the_cosine_by_default_and_refuses_other_spaces():
    from livemusic_kernel.errors import StyleSpaceError
    from livemusic_kernel.style import Style, StyleSpace

    click = ClickBackend()
    a, b = click.style_for(pitch=60.0), click.style_for(pitch=72.0)
    expected = float(a.vector @ b.vector / (a.norm() * b.norm()))
    assert click.similarity(a, b) == pytest.approx(expected) and click.similarity(a, a) == pytest.approx(1.0)
    zero = Style((0, 0, 0, 0, 0), a.space)
    assert click.similarity(a, zero) == 0.0
    with pytest.raises(StyleSpaceError, match="cannot compare"):
        click.similarity(a, Style((1, 2), StyleSpace("other/1", 2)))


def test_a_backend_class_is_found_without_making_one():
    from livemusic_kernel.models import backend_class
    from livemusic_kernel.models.builtin.backend import BuiltinBackend

    assert backend_class("builtin") is BuiltinBackend and backend_class("click").capabilities.tempo_lock
    with pytest.raises(ValueError, match="unknown backend 'nope'; choose one of: builtin, click"):
        backend_class("nope")
