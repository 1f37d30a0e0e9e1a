"""The README's section "Augmenters in your own pipelines" runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _section_blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Augmenters in your own pipelines", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def test_the_section_has_a_config_and_two_python_examples():
    assert len(_section_blocks("ini")) == 1 and len(_section_blocks("python")) == 2


@pytest.mark.parametrize("index", [0, 1])
def test_each_python_example_runs(index, tmp_path):
    if index == 0:
        pytest.importorskip("datasets")
    code = _section_blocks("python")[index]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf")})  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()


def test_the_config_s_augmenter_resolves_in_spacy():
    spacy = pytest.importorskip("spacy")
    from thinc.api import Config

    config = Config().from_str("[system]\nseed = 0\n[paths]\ntrain = null\n[corpora]\n\n" + _section_blocks("ini")[0])
    augmenter = spacy.registry.resolve({"augmenter": config["corpora"]["train"]["augmenter"]})["augmenter"]
    assert config["corpora"]["train"]["@readers"] == "spacy.Corpus.v1"
    nlp = spacy.blank("en")
    from spacy.training import Example

    reference = nlp.make_doc("A gripping, well-acted thriller with a dull ending.")
    reference.cats = {"pos": 1.0, "neg": 0.0}
    example = Example(nlp.make_doc(reference.text), reference)
    out = list(augmenter(nlp, example))
    assert out[0] is example and 2 <= len(out) <= 5
