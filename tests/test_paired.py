"""tfcourse.paired: the median of per-round ratios, and why it is not the ratio of best rounds."""

import pytest

from tfcourse import paired


def test_one_outlier_round_moves_the_best_ratio_not_the_median():
    # B has one lucky round (200): its best round says A is slower; round by round A wins 4 of 5.
    a = [110, 120, 105, 115, 118]
    b = [100, 100, 200, 100, 100]
    ratio = paired.paired_ratio(a, b)
    assert ratio.median == pytest.approx(1.15)
    assert ratio.best == pytest.approx(120 / 200)
    assert (ratio.low, ratio.high, ratio.wins, ratio.rounds) == (pytest.approx(0.525), pytest.approx(1.2), 4, 5)


def test_times_are_inverted_so_above_one_still_means_a_is_faster():
    ratio = paired.paired_ratio([1.0, 2.0, 1.0], [2.0, 2.0, 3.0], lower_is_better=True)
    assert ratio.median == 2.0 and ratio.best == 2.0 and ratio.wins == 2


def test_rounds_must_pair_and_be_positive():
    with pytest.raises(ValueError, match="match one to one: 2 rounds of A, 3 of B"):
        paired.paired_ratio([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="positive"):
        paired.paired_ratio([1, 0], [1, 2])
    with pytest.raises(ValueError, match="got none"):
        paired.paired_ratio([], [])


def test_describe_and_record():
    ratio = paired.paired_ratio([2, 3], [1, 1])
    assert paired.describe(ratio) == "2.50x (per-round 2.00-3.00, faster in 2 of 2 rounds; best rounds 3.00x)"
    record = paired.run_record(["bench.py", "--x"], (1.0, 2.0, 3.0), (4.0, 5.0, 6.0))
    assert record["command"] == "python bench.py --x" and record["load_average_after"] == [4.0, 5.0, 6.0]
