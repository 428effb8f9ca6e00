"""The guides whose examples take longest run here, beside tests/test_docs.py, so that pytest-xdist
(``--dist loadfile``) runs the two halves of the docs on two workers. What runs and how is test_docs's."""

from pathlib import Path

import pytest
from test_docs import ELSEWHERE, check_page, page_ids


@pytest.mark.stored  # the pages' printed numbers
@pytest.mark.parametrize("page", ELSEWHERE, ids=page_ids(ELSEWHERE))
def test_every_block_runs_as_written(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_page(page, tmp_path, monkeypatch)
