"""The simulators: the vectorised bandit engine and one module per model the notebooks run
(answer-last tokens, several prompts, the constructed instances, the MLP policy, the exact k-of-T
length test, Theorem 1 runs)."""
