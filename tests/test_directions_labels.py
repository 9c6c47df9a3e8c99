"""rlvr_core.paper.directions.ALGORITHM_LABELS: one distinct printed label per algorithm."""
from rlvr_core.paper import directions as Dn


def test_every_algorithm_has_a_distinct_label():
    assert set(Dn.ALGORITHM_LABELS) == set(Dn.ALGORITHMS)
    assert len(set(Dn.ALGORITHM_LABELS.values())) == len(Dn.ALGORITHMS)
