"""The paper's objects: policies (bandit and token level), the Gradient Gap and its identities,
the update directions of the algorithms, and the theorems' constants and thresholds."""
