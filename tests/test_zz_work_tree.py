"""A test run leaves the work tree exactly as it found it (the root conftest puts figures and
cached results of notebook executions in a temporary folder). Runs after every other test."""
import pytest


def test_work_tree_unchanged_by_the_test_run(request):
    if hasattr(request.config, "workerinput"):
        pytest.skip("under pytest-xdist the controller checks the work tree once all workers end")
    before = request.config.work_tree_at_start
    if before is None:
        pytest.skip("not a git checkout")
    after = request.config.work_tree_fingerprint()
    assert after == before, (
        "the test run changed the work tree.\nbefore:\n" + before.split("\n", 1)[1]
        + "\nafter:\n" + after.split("\n", 1)[1])
