"""The whole distillation recipe as resumable stages: ``kdtext run``."""

from .config import RunConfig, load_config
from .runner import Runner, Stage

__all__ = ["RunConfig", "Runner", "Stage", "load_config"]
