"""Statistics shared by the experiments: the threshold read of a sweep and small fits."""
