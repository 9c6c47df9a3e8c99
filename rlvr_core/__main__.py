"""Command line: ``python -m rlvr_core check-lr ...`` (see ``--help``)."""
from __future__ import annotations

import argparse
import sys

from rlvr_core.stepsize.checker import MOMENTS, check_step_size
from rlvr_core.paper.directions import ALGORITHMS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rlvr_core",
                                     description="Tools of the RLVR Gradient-Gap companion.")
    sub = parser.add_subparsers(dest="command", required=True)
    lr = sub.add_parser("check-lr", help="the theory's guaranteed learning rate for RLVR with plain SGD",
                        description="The theory's sufficient bound on the learning rate of a "
                                    "policy-gradient update, from statistics (companion's bound, "
                                    "notebook 10): a guarantee from the constants given, not a "
                                    "recommendation. To measure the largest safe rate of a GRPO run, "
                                    "use python -m rlvr_core.llm.range_test.")
    lr.add_argument("--success-rate", type=float, required=True, help="current success rate J in (0, 1)")
    lr.add_argument("--length", type=int, required=True, help="response length T in tokens")
    lr.add_argument("--token-grad-norm", type=float, required=True, help="per-token score bound G")
    lr.add_argument("--token-smoothness", type=float, default=0.0, help="per-token Hessian bound L")
    lr.add_argument("--algorithm", default="grpo", choices=["gap", *ALGORITHMS])
    lr.add_argument("--moment", default="worst_case", choices=MOMENTS,
                    help="G_o^2 = (T G)^2 (worst_case) or T G^2 (martingale)")
    lr.add_argument("--max-length", type=int, default=None, help="L_max of dr_grpo (default T)")
    lr.add_argument("--lr", type=float, default=None, help="the learning rate to judge")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        report = check_step_size(success_rate=args.success_rate, response_length=args.length,
                                 token_grad_norm=args.token_grad_norm,
                                 token_smoothness=args.token_smoothness, algorithm=args.algorithm,
                                 moment=args.moment, max_length=args.max_length,
                                 learning_rate=args.lr)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
