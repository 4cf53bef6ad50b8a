"""The publishing workflow runs the README's test command and deploys only from main, after it passes."""

import yaml
from site_build import ROOT

WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))


def _runs(job):
    return [step.get("run", "") for step in WORKFLOW["jobs"][job]["steps"]]


def test_the_test_job_runs_what_ci_runs():
    assert "bash .ci/run" in _runs("test")
    assert "exec make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # a container with Debian's real chromium package; the Makefile installs it
    assert "bookworm" in WORKFLOW["jobs"]["test"]["container"]


def test_publishing_needs_the_tests_and_main():
    publish = WORKFLOW["jobs"]["publish"]
    assert publish["needs"] == "test"
    assert "refs/heads/main" in publish["if"] and "push" in publish["if"]
    assert "make site" in _runs("publish")
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    upload = next(s for s in publish["steps"] if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "site"


def test_the_cpu_torch_index_reaches_the_install():
    assert WORKFLOW["env"]["TORCH_INDEX"].endswith("/whl/cpu")
    assert "--index-url $(TORCH_INDEX)" in (ROOT / "Makefile").read_text(encoding="utf-8")
