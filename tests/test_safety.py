"""Safety guards: remote code is never trusted, weights are never unpickled, and the library
works with every network connection refused."""
import ast
import socket
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("rlvr_core", "scripts", "benchmarks") for p in (ROOT / d).rglob("*.py")]
SOURCES += sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _calls():
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                yield path.relative_to(ROOT), node, name, {k.arg: k.value for k in node.keywords}


def _is_const(value, expected):
    return isinstance(value, ast.Constant) and value.value is expected


def test_there_is_code_to_scan():
    assert len(SOURCES) > 20


def test_trust_remote_code_is_never_enabled():
    bad = [f"{p}:{n.lineno}" for p, n, _, kw in _calls()
           if "trust_remote_code" in kw and not _is_const(kw["trust_remote_code"], False)]
    assert not bad, bad


def test_no_pickle_loading():
    bad = []
    for p, n, name, kw in _calls():
        if name == "load" and isinstance(n.func, ast.Attribute) and getattr(n.func.value, "id", "") == "torch":
            if not _is_const(kw.get("weights_only"), True):
                bad.append(f"{p}:{n.lineno} torch.load without weights_only=True")
        if name == "load" and getattr(getattr(n.func, "value", None), "id", "") == "pickle":
            bad.append(f"{p}:{n.lineno} pickle.load")
        if "allow_pickle" in kw and not _is_const(kw["allow_pickle"], False):
            bad.append(f"{p}:{n.lineno} allow_pickle")
    assert not bad, bad


def test_model_weights_only_through_safetensors():
    """Every from_pretrained of a model asks for safetensors (GGUF reads are not pickle either)."""
    bad = [f"{p}:{n.lineno}" for p, n, name, kw in _calls()
           if name == "from_pretrained" and "Tokenizer" not in ast.unparse(n.func)
           and "gguf_file" not in kw and not _is_const(kw.get("use_safetensors"), True)]
    assert not bad, bad


def test_library_runs_with_the_network_refused(monkeypatch, tmp_path):
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from rlvr_core.notebook import figures

    from rlvr_core.simulators import sim
    from rlvr_core.stepsize.against_bandits import probe_policy
    from rlvr_core.paper.policies import random_log_linear

    monkeypatch.setattr(figures, "FIGURE_DIR", tmp_path)
    pol = random_log_linear(2, 6, 3, seed=0)
    res = sim.simulate(pol.features, pol.rewards, torch.zeros(3), [0.5, 5.0], 20, direction="grpo", group_size=4)
    probe_policy(pol, torch.zeros(3), 16)
    fig, ax = plt.subplots()
    ax.plot(res.J[:, 0, 0].numpy())
    figures.savefig(fig, "offline_check", notebook="01_gradient_gap", claim="P1")
    plt.close(fig)
    assert attempts == []
