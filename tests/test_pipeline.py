import numpy as np
import pytest
import tensorflow as tf

from tfcourse.datasets.mnist_files import DataSet
from tfcourse.datasets.pipeline import make_dataset, textbook_pipeline
from tfcourse.errors import CourseError


def _split(n=25):
    images = np.repeat(np.arange(n, dtype=np.float32)[:, None], 784, axis=1)
    return DataSet(images, np.arange(n) % 10)


def _ids(batch):
    return batch[0][:, 0].numpy().astype(int).tolist()


@pytest.mark.parametrize("build", [make_dataset, textbook_pipeline])
def test_shapes_and_dtypes(build):
    images, labels = next(iter(build(_split(), 4)))
    assert images.shape == (4, 784) and images.dtype == tf.float32
    assert labels.shape == (4,) and labels.dtype == tf.int32


def test_each_epoch_is_a_fresh_permutation_of_all_examples():
    batches = list(make_dataset(_split(25), 5, epochs=3, seed=1))
    assert len(batches) == 15
    epochs = [sum((_ids(b) for b in batches[i * 5:(i + 1) * 5]), []) for i in range(3)]
    for ids in epochs:
        assert sorted(ids) == list(range(25))
    assert epochs[0] != epochs[1] != epochs[2]


def test_reproducible_under_seed_and_different_across_seeds():
    first = [_ids(b) for b in make_dataset(_split(), 5, epochs=2, seed=4)]
    again = [_ids(b) for b in make_dataset(_split(), 5, epochs=2, seed=4)]
    other = [_ids(b) for b in make_dataset(_split(), 5, epochs=2, seed=5)]
    assert first == again and first != other


def test_drop_remainder_and_keep_remainder():
    dropped = [len(_ids(b)) for b in make_dataset(_split(23), 5, epochs=1)]
    kept = [len(_ids(b)) for b in make_dataset(_split(23), 5, epochs=1, drop_remainder=False)]
    assert dropped == [5, 5, 5, 5] and kept == [5, 5, 5, 5, 3]


def test_unshuffled_order():
    assert _ids(next(iter(make_dataset(_split(), 6, shuffle=False)))) == [0, 1, 2, 3, 4, 5]


def test_labels_follow_their_images():
    for images, labels in make_dataset(_split(25), 5, epochs=1, seed=2):
        assert (images[:, 0].numpy().astype(int) % 10 == labels.numpy()).all()


@pytest.mark.parametrize("bad", [0, -3, 1.5])
def test_bad_batch_size(bad):
    with pytest.raises(CourseError, match="batch_size must be a positive integer"):
        make_dataset(_split(), bad)


def test_batch_larger_than_split():
    with pytest.raises(CourseError, match=r"batch_size 30 is larger than the split \(25 examples\)"):
        textbook_pipeline(_split(25), 30)


def test_blocks_of_batches_keep_the_same_order():
    single = [_ids(b) for b in make_dataset(_split(25), 5, epochs=2, seed=3)]
    blocks = list(make_dataset(_split(25), 5, epochs=2, seed=3, batches_per_element=2))
    assert blocks[0][0].shape == (2, 5, 784) and blocks[0][1].shape == (2, 5)
    flat = [row[:, 0].numpy().astype(int).tolist() for images, _ in blocks for row in images]
    assert flat == single[:len(flat)] and len(flat) == 10


def test_start_step_resumes_the_very_same_order_across_epochs():
    whole = [_ids(b) for b in make_dataset(_split(25), 5, seed=3).take(12)]  # 5 per epoch: crosses two epochs
    resumed = [_ids(b) for b in make_dataset(_split(25), 5, seed=3, start_step=7).take(5)]
    assert resumed == whole[7:] and sorted(sum(whole[5:10], [])) == list(range(25))
    kept = [_ids(b) for b in make_dataset(_split(23), 5, drop_remainder=False, seed=3).take(8)]
    assert [_ids(b) for b in make_dataset(_split(23), 5, drop_remainder=False, seed=3, start_step=4).take(4)] == kept[4:]
    assert len(kept[4]) == 3  # the short batch counts as a step


def test_replicas_split_each_global_batch_in_order():
    single = [_ids(b) for b in make_dataset(_split(), 8, seed=2).take(2)]
    parts = []
    for pipeline_id in range(2):  # 2 workers x 2 replicas each
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline_id,
                                             num_replicas_in_sync=4)
        parts.append([_ids(b) for b in make_dataset(_split(), 8, seed=2, input_context=context).take(4)])
    assert all(len(rows) == 2 for rows in parts[0] + parts[1])
    for step in range(2):
        rows = parts[0][2 * step:2 * step + 2] + parts[1][2 * step:2 * step + 2]
        assert sum(rows, []) == single[step]


@pytest.mark.parametrize("build, message", [
    (lambda: make_dataset(_split(), 10, input_context=tf.distribute.InputContext(1, 0, 3)),
     "batch_size 10 must be a multiple of the 3 replicas"),
    (lambda: make_dataset(_split(), 5, start_step=-1), "start_step must be a non-negative integer, got -1"),
    (lambda: make_dataset(_split(), 5, batches_per_element=2, input_context=tf.distribute.InputContext()),
     "input_context needs batches_per_element=1"),
])
def test_distributed_and_resumed_misuse(build, message):
    with pytest.raises(CourseError, match=message):
        build()
