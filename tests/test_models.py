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
    with pytest.raises(ValueError, match="unknown backend 'magentaa'; choose one of: click"):
        get_backend("magentaa")
    with pytest.raises(BackendError, match="does not take these options"):
        get_backend("click", size="large")
    with pytest.raises(BackendError, match="apply to a backend name"):
        get_backend(ClickBackend(), size="large")


def test_a_backend_describes_itself():
    info = ClickBackend().describe()
    assert info["capabilities"]["variable_blocks"] is True
    assert info["style_space"] == "click/1" and info["sample_rate"] == 48000
