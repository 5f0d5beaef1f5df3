import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def netflix_data():
    from fastem.datasets import netflix

    try:
        return netflix()
    except FileNotFoundError as e:
        pytest.skip(str(e))
