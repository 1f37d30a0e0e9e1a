"""The stages of ``kdtext run``, one module per stage or group of stages; :mod:`kdtext.pipeline.recipe`
lists them in order.

* :mod:`.data` -- load and validate the data; :mod:`.teacher` -- finetune or load the teacher;
* :mod:`.augment` -- tokenize and tag (``corpus``), augment; :mod:`.label` -- label with the teacher;
* :mod:`.students` -- word vectors, the baseline and the distilled student;
* :mod:`.evaluate` -- the reference classifier, evaluation on test; :mod:`.report` -- the report.

Each stage module has ``stage_<name>(ctx)`` (returns the stage's summary), the settings that
fingerprint it and the plugins it runs.
"""

from __future__ import annotations

import json
from typing import Any


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into plain Python, for JSON."""
    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
