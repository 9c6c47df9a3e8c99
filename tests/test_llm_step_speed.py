"""The two CPU speed-ups of a GRPO step keep its numbers: oneDNN's packed products for sampling
(:mod:`rlvr_core.llm.packed_generation`) and glibc keeping freed memory
(:mod:`rlvr_core.infra.memory`)."""
import subprocess
import sys
import textwrap

import pytest
import torch

import rlvr_core.llm  # noqa: F401
from rlvr_core.llm.models import build_tiny_model, warm_start_tiny
from rlvr_core.llm.packed_generation import can_pack, packed_linears, packing_available
from rlvr_core.llm.runner import RunConfig, run_grpo

needs_onednn = pytest.mark.skipif(not packing_available(), reason="this torch has no oneDNN")


def _model():
    return build_tiny_model(seed=0)[0].eval()     # Qwen2 layout: biased q/k/v projections


@needs_onednn
def test_packed_products_give_the_default_logits_to_rounding():
    model = _model()
    x = torch.randint(0, model.config.vocab_size, (16, 20))
    with torch.no_grad():
        stock = model(x).logits
        with packed_linears(model, rows=16):
            packed = model(x).logits
    assert packed.shape == stock.shape
    assert torch.allclose(packed, stock, rtol=1e-5, atol=1e-5)
    # negative control: the same comparison sees a weight the packed copy missed
    with torch.no_grad(), packed_linears(model, rows=16):
        model.lm_head.weight.mul_(1.01)            # changed after packing: not seen inside
        stale = model(x).logits
        fresh_stock = model.lm_head.weight @ model.model(x).last_hidden_state[..., None]
    assert not torch.allclose(stale, fresh_stock.squeeze(-1), rtol=1e-5, atol=1e-5)
    with torch.no_grad(), packed_linears(model, rows=16):   # re-entering packs the new weight
        assert torch.allclose(model(x).logits, fresh_stock.squeeze(-1), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_sampling_with_packed_products_draws_the_same_tokens():
    model = _model()
    x = torch.randint(3, model.config.vocab_size, (16, 10))
    kw = dict(do_sample=True, top_k=0, top_p=1.0, max_new_tokens=24, pad_token_id=0, eos_token_id=None)
    with torch.no_grad():
        torch.manual_seed(5)
        stock = model.generate(x, attention_mask=torch.ones_like(x), **kw)
        torch.manual_seed(5)
        with packed_linears(model, rows=16):
            packed = model.generate(x, attention_mask=torch.ones_like(x), **kw)
        torch.manual_seed(6)
        other = model.generate(x, attention_mask=torch.ones_like(x), **kw)
    same = (packed == stock).all(1).sum().item()
    # logits differ in the last bits, so a draw may flip where a uniform lands on a boundary
    # (not once in 6 SmolLM2 steps); another seed draws other sequences (the control)
    assert same >= 15, f"only {same} of 16 sequences agree"
    assert (other == stock).all(1).sum().item() < 8


@needs_onednn
def test_each_module_gets_its_own_forward_back():
    model = _model()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    with pytest.raises(RuntimeError, match="inside"):
        with packed_linears(model, rows=4):
            assert all("forward" in m.__dict__ for m in linears)
            raise RuntimeError("an error inside the block")
    assert not any("forward" in m.__dict__ for m in linears)
    with pytest.raises(ValueError, match="rows=0"):
        with packed_linears(model, rows=0):
            pass


def test_packing_is_refused_where_it_does_not_apply():
    model = _model()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not can_pack(model)
    assert not can_pack(model.to(torch.bfloat16))
    assert not can_pack(torch.nn.Sequential(torch.nn.ReLU()))
    assert can_pack(_model()) == packing_available()


@pytest.mark.slow
@needs_onednn
def test_a_grpo_run_is_the_same_with_packed_sampling():
    from rlvr_core.llm.sweeps import TINY_COMMON

    warm_start_tiny(2)
    cfg = RunConfig(**TINY_COMMON, scratch_len=2, learning_rate=0.1, max_steps=3, gap_callback=True)
    packed = run_grpo(cfg, progress=False)
    stock = run_grpo(RunConfig(**{**cfg.to_dict(), "packed_generation": False}), progress=False)
    assert packed["provenance"]["generation_kernel"] == "onednn-packed"
    assert stock["provenance"]["generation_kernel"] == "default"
    assert cfg.key() == RunConfig(**{**cfg.to_dict(), "packed_generation": False}).key()
    for a, b in zip(packed["metrics"], stock["metrics"], strict=True):
        assert a["reward"] == b["reward"] and a["completions/mean_length"] == b["completions/mean_length"]
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-6)
        assert a["gap/gap_norm"] == pytest.approx(b["gap/gap_norm"], rel=1e-4)


FAULTS = textwrap.dedent("""
    import resource, sys, torch
    if sys.argv[1] == "keep":
        from rlvr_core.infra.memory import keep_freed_memory
        assert keep_freed_memory()
    for _ in range(6):                      # rounds of a step's tensors (348 MB), freed together
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        live = [torch.ones(2 ** 20 * k) for k in (1, 4, 8, 16, 28, 2, 28)]
        del live
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")



@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_kept_memory_is_reused_without_page_faults():
    def faults(mode):
        out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True,
                             check=True)
        return int(out.stdout.split()[-1])

    pages = 87 * 2 ** 20 * 4 // 4096             # the round's pages
    assert faults("keep") < pages // 20          # the last round reuses the freed heap
    assert faults("default") > pages // 2        # negative control: mmap'd afresh every round
