"""Where the real data of ../shared/data is (tests that need it skip when it is absent)."""
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_data_dir():
    """../shared/data beside the checkout (or $TFVISREC_SHARED_DATA); None when absent."""
    path = os.environ.get("TFVISREC_SHARED_DATA") or os.path.join(
        os.path.dirname(REPO_ROOT), "shared", "data")
    return path if os.path.isdir(path) else None
