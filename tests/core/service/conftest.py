"""Fixtures of the live-index tests: a recorder of the service's events, and services made on demand."""


from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.service.index_service import IndexService
from tests.core.service.live_index import Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def service_for(library, recorder) -> Iterator[Callable[..., IndexService]]:  # type: ignore[no-untyped-def]
    made: list[IndexService] = []

    def make(*folders: Path, **kwargs) -> IndexService:  # type: ignore[no-untyped-def]
        library.add_folders([str(f) for f in folders])
        svc = IndexService(library, on_event=recorder, **kwargs)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.stop()
