"""Students that ship without kdtext: ``runtime_requires`` and ``runtime_module`` (issue #22 item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import kdtext
from contract_fixtures import BLOCK_KDTEXT, PriorStudent, wheel_requires
from kdtext.errors import ConfigError
from teacher_fixtures import sentiment_data

class RuntimePriorStudent(PriorStudent):
    runtime_requires = ("numpy",)
    runtime_module = "prior_runtime"


class Plugin:
    @kdtext.hookimpl
    def register_students(self, register):
        register("runtime-prior", RuntimePriorStudent)


def _trained(tmp_path: Path, register_plugin) -> tuple[Path, RuntimePriorStudent]:
    from kdtext.students import fit_student, save_student

    register_plugin(Plugin(), "runtime-prior-plugin")
    train, dev = sentiment_data(30, seed=0), sentiment_data(10, seed=1)
    student = RuntimePriorStudent()
    save_student(student, tmp_path / "model", name="runtime-prior", figures=fit_student(student, train, dev, name="runtime-prior"))
    return tmp_path / "model", student


def test_the_package_requires_what_the_student_declares_and_loads_where_kdtext_cannot(tmp_path, register_plugin):
    from kdtext.students.packaging import package_student

    model, student = _trained(tmp_path, register_plugin)
    result = package_student(model, tmp_path / "dist", name="kd_prior", version="0.0.1", build="wheel")
    (wheel,) = [a for a in result["artifacts"] if a.endswith(".whl")]
    assert wheel_requires(wheel) == ["numpy"]
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), wheel],
                   check=True, capture_output=True)  # fmt: skip
    assert (site / "kd_prior" / "_runtime.py").read_text() == (Path(__file__).parent / "prior_runtime.py").read_text()
    code = BLOCK_KDTEXT + textwrap.dedent(f"""
        import json
        sys.path.insert(0, {str(site)!r})
        import kd_prior
        classifier = kd_prior.load()
        texts = ["a great film", "a dull one"]
        print(json.dumps({{"labels": list(classifier.labels), "probs": classifier.predict_proba(texts).tolist(),
                          "predict": classifier.predict(texts), "kdtext": [m for m in sys.modules if m.startswith("kdtext")]}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout)
    assert loaded["kdtext"] == []
    assert loaded["labels"] == list(student.label_space.labels)
    assert np.allclose(loaded["probs"], student.predict_proba(["a great film", "a dull one"]))
    best = student.label_space.labels[int(np.argmax(student.prior))]
    assert loaded["predict"] == [best, best]
    # the blocker does block: the old-style package (load_student) fails in the same child
    failing = subprocess.run([sys.executable, "-c", BLOCK_KDTEXT + "import kdtext"], capture_output=True, text=True)
    assert failing.returncode != 0 and "kdtext is not installed here" in failing.stderr


def test_a_student_without_a_runtime_still_gets_a_package_that_requires_kdtext(tmp_path, register_plugin):
    from kdtext.students import fit_student, save_student
    from kdtext.students.packaging import package_student

    class Plain:
        @kdtext.hookimpl
        def register_students(self, register):
            register("plain-prior", PriorStudent)

    register_plugin(Plain(), "plain-prior-plugin")
    student = PriorStudent()
    save_student(student, tmp_path / "model", name="plain-prior",
                 figures=fit_student(student, sentiment_data(20), sentiment_data(8, seed=1), name="plain-prior"))  # fmt: skip
    result = package_student(tmp_path / "model", tmp_path / "dist", name="kd_plain", build="none")
    setup = (Path(result["package_dir"]) / "setup.py").read_text()
    assert "install_requires=['kdtext']" in setup and not (Path(result["package_dir"]) / "kd_plain" / "_runtime.py").exists()


@pytest.mark.parametrize(
    "requires,module,source,message",
    [
        (("numpy",), None, None, "set both runtime_requires and runtime_module, or neither"),
        ("numpy", "prior_runtime", None, "must be a list of requirement strings"),
        (("numpy>>1",), "prior_runtime", None, "invalid requirement 'numpy>>1'"),
        (("numpy", "KDText>=0.1"), "prior_runtime", None, "runtime_requires lists kdtext"),
        (("numpy",), "no_such_runtime_module", None, "cannot be imported"),
        (("numpy",), "bad_runtime", "import numpy\nfrom kdtext.students import load_student\n", r"bad_runtime.py:2: .* imports kdtext"),
        (("numpy",), "bad_pkg.runtime", "from .helpers import load\n", r"runtime.py:1: .* imports relatively"),
        (("numpy",), "bad_runtime", "def predict(texts):\n    return texts\n", "defines no load"),
    ],
)
def test_bad_runtime_declarations_are_one_line_errors(tmp_path, register_plugin, monkeypatch, requires, module, source, message):
    from kdtext.students.packaging import package_student

    model, _ = _trained(tmp_path, register_plugin)
    if source is not None:
        path = tmp_path / (module.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        if "." in module:  # a module in a package, with the helper it imports
            (path.parent / "__init__.py").write_text("")
            (path.parent / "helpers.py").write_text("def load(path):\n    return None\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        for name in (module, module.split(".")[0]):
            monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(RuntimePriorStudent, "runtime_requires", requires)
    monkeypatch.setattr(RuntimePriorStudent, "runtime_module", module)
    with pytest.raises(ConfigError, match=message):
        package_student(model, tmp_path / "dist", name="kd_bad", build="none")
