"""The one training loop every model shares (`fit`), its strategies and checkpoints."""
from tfvisrec.training.loop import check_settings, describe_best, fit  # noqa: F401
