"""The import paths of kdtext 0.1 that moved keep working for one release, with a warning.

Each old module gives the module at its new home (the same objects); each name of a module
that was split comes from the module that has it now. Nothing in kdtext, its tests, its
benchmarks or its example plugins imports an old path.
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
import warnings
from pathlib import Path

import pytest

from kdtext import _compat

ROOT = Path(__file__).resolve().parent.parent

#: Every public name of the modules that were split, and the module that holds it now.
SPLIT_NAMES = {
    "kdtext.corpus": {
        "TokenizedCorpus": "kdtext.augment.corpus",
        "CorpusBuilder": "kdtext.augment.builder",
        "MAX_CHARS": "kdtext.augment.tokenizer",
        "FORMAT_VERSION": "kdtext.augment.corpus",
        "ARRAYS": "kdtext.augment.corpus",
        "PosTable": "kdtext.augment.pos_table",
        "check_language": "kdtext.augment.tokenizer",
        "blank_pipeline": "kdtext.augment.tokenizer",
    },
    "kdtext.teacher": {
        "BertTeacher": "kdtext.default_plugins.bert.teacher",
        "FileTeacher": "kdtext.default_plugins.file",
        "LabelCache": "kdtext.labelling.cache",
        "LabelResult": "kdtext.labelling",
        "check_teacher_output": "kdtext.labelling.validate",
    },
    "kdtext.teacher.bert": {
        "BertTeacher": "kdtext.default_plugins.bert.teacher",
        **dict.fromkeys(
            ["META_FILE", "META_FORMAT", "WEIGHT_FILES", "TOKENIZER_FILES", "OFFSET_POSITION_TYPES", "VOLATILE_CONFIG",
             "default_model_path", "quiet_transformers", "check_model_dir", "model_max_positions", "length_from_data"],
            "kdtext.default_plugins.bert.model_dir",
        ),
    },
    "kdtext.vectors": {
        "word_vectors": "kdtext.students.vectors",
        "save_vectors": "kdtext.students.vectors",
        "load_vectors": "kdtext.students.vectors",
        "teacher_vocabulary": "kdtext.default_plugins.bert.vectors",
        "MAX_PIECES": "kdtext.default_plugins.bert.vectors",
    },
    "kdtext.teacher.labelling": {
        "label": "kdtext.default_plugins.bert.labelling",
        "encode_inputs": "kdtext.default_plugins.bert.labelling",
        "LabelResult": "kdtext.labelling",
    },
}


def _forget(monkeypatch: pytest.MonkeyPatch, old: str) -> None:
    """Make the next import of ``old`` go through the alias finder again (undone after the test)."""
    monkeypatch.delitem(sys.modules, old, raising=False)


def test_the_split_modules_are_the_ones_listed_here():
    assert set(SPLIT_NAMES) == set(_compat.SPLIT)


@pytest.mark.parametrize("old", sorted(_compat.MOVED))
def test_a_moved_module_warns_and_is_the_module_at_its_new_home(old, monkeypatch):
    parent = old.rpartition(".")[0]
    with warnings.catch_warnings():  # an old parent package warns too; this test is about ``old``
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module(parent)
    _forget(monkeypatch, old)
    new = _compat.MOVED[old]
    with pytest.warns(DeprecationWarning, match=rf"^{re.escape(old)} is deprecated.*{re.escape(new)}") as record:
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__spec__.name == new  # the real module keeps its own spec
    assert any(w.filename == __file__ for w in record)  # attributed to the importer, not to importlib


@pytest.mark.parametrize("old", sorted(SPLIT_NAMES))
def test_each_name_of_a_split_module_comes_from_its_new_home(old, monkeypatch):
    _forget(monkeypatch, old)
    with pytest.warns(DeprecationWarning, match=rf"^{re.escape(old)} is deprecated"):
        module = importlib.import_module(old)
    for name, home in SPLIT_NAMES[old].items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name), name
    with pytest.raises(AttributeError, match="has no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


def test_from_imports_of_old_paths_work(monkeypatch):
    for old in ("kdtext.corpus", "kdtext.teacher", "kdtext.teacher.bert", "kdtext.student", "kdtext.engine"):
        _forget(monkeypatch, old)
    with pytest.warns(DeprecationWarning):
        from kdtext.corpus import TokenizedCorpus
        from kdtext.engine import get_engine
        from kdtext.student import load_student
        from kdtext.teacher.bert import BertTeacher
    from kdtext.augment.corpus import TokenizedCorpus as new_corpus
    from kdtext.default_plugins.bert.teacher import BertTeacher as new_teacher
    from kdtext.labelling.engine import get_engine as new_get_engine
    from kdtext.students import load_student as new_load_student

    assert (TokenizedCorpus, BertTeacher, get_engine, load_student) == (new_corpus, new_teacher, new_get_engine, new_load_student)


@pytest.mark.parametrize("module, name", [(m, n) for m, names in sorted(_compat.MOVED_NAMES.items()) for n in sorted(names)])
def test_a_name_that_left_a_module_warns_and_is_the_object_at_its_new_home(module, name):
    with pytest.warns(DeprecationWarning, match=rf"^{re.escape(module)}\.{name} is deprecated.*{re.escape(_compat.MOVED_NAMES[module][name])}") as record:
        got = getattr(importlib.import_module(module), name)
    assert got is getattr(importlib.import_module(_compat.MOVED_NAMES[module][name]), name)
    assert record[0].filename == __file__
    with pytest.raises(AttributeError, match="has no attribute 'not_a_name'"):
        importlib.import_module(module).not_a_name  # noqa: B018


def test_new_paths_do_not_warn(recwarn):
    for new in sorted(set(_compat.MOVED.values()) | {home for homes in _compat.SPLIT.values() for home in homes}):
        importlib.import_module(new)
    assert not [w for w in recwarn if "is deprecated and goes in the next kdtext release" in str(w.message)]


def _old_imports(path: Path) -> list[str]:
    """The old kdtext module paths that ``path`` imports (absolute imports only; kdtext's own are relative)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n in _compat.MOVED or n in _compat.SPLIT]
    return found


def test_nothing_here_imports_an_old_path():
    files = [p for folder in ("src", "tests", "benchmarks", "plugins") for p in (ROOT / folder).rglob("*.py")]
    found = [hit for path in files if path.name != "test_compat.py" for hit in _old_imports(path)]
    assert not found, "\n".join(found)
