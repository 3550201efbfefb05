"""ci/nightly.sh: one shard of the night through `make run`, report published, latest linked."""
import json
import os
import subprocess

from tracenic import paths, scenario


def test_nightly_script_runs_a_shard_and_publishes(built, tmp_path):
    names = [s.name for s in scenario.load_dir(paths.SCENARIOS)]
    n, k = len(names), names.index("boot-clean") + 1      # the shard holding only boot-clean
    env = dict(os.environ, SHARD=f"{k}/{n}", PUBLISH=str(tmp_path / "www"), SWEEP_MINUTES="0.5")
    run = subprocess.run([str(paths.TOP / "ci" / "nightly.sh")], cwd=paths.TOP, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"shard {k}/{n}" in run.stdout and "1 passed, 0 failed" in run.stdout
    latest = tmp_path / "www" / "latest"
    summary = json.loads((latest / "summary.json").read_text())
    assert [r["name"] for r in summary["results"]] == ["boot-clean"]
    assert (latest / "junit.xml").exists() and (latest / "index.html").exists()
    # the closing sweep over what ran clean, in the same report
    sweep = summary["sweep"]
    assert sweep["runs"] >= 1 and list(sweep["scenarios"]) == ["boot-clean"]
    assert sweep["findings"] == [] and sweep["harness_errors"] == []
    assert "Race sweep: 0 findings" in (latest / "index.html").read_text()
    assert "sweeping 1 scenario for 0.5 min" in run.stdout
    assert (paths.REPORTS / "latest").resolve() == (paths.REPORTS / latest.resolve().name)
