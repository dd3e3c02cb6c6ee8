"""MNIST input: IDX reading, `read_data_sets`, tf.data pipelines, download, fake data.

Nothing here imports the model: data flows one way, datasets -> model -> trainer.
"""

from tfcourse.datasets.idx import read_idx, write_idx
from tfcourse.datasets.locate import resolve_data_dir
from tfcourse.datasets.mnist_files import (
    DataSet,
    Datasets,
    dense_to_one_hot,
    fake_images_and_labels,
    load_mnist,
    read_data_sets,
)

__all__ = [
    "DataSet", "Datasets", "dense_to_one_hot", "fake_images_and_labels", "load_mnist",
    "read_data_sets", "read_idx", "write_idx", "resolve_data_dir",
]
