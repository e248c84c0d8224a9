"""Fixtures of the model tests: the cached visual world (see tests/visual_world.py)."""
import pytest


@pytest.fixture(scope="session")
def visual_world():
    """A synthetic world with fashion-pretrained `features.npy`, built once per settings and
    code version and shared by every test, session and pytest worker."""
    from visual_world import cached_visual_world
    return cached_visual_world()
