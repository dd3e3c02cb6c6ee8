"""Small learnable fake MNIST splits for fast tests (all splits share the class prototypes)."""

from tfcourse.datasets import DataSet, Datasets, fake_images_and_labels


def small_data_sets(train=6000, validation=1000, test=1000, seed=0):
    """Datasets(train, validation, test) cut from one fake_images_and_labels draw."""
    images, labels = fake_images_and_labels(train + validation + test, seed=seed)
    cut = [0, train, train + validation, train + validation + test]
    return Datasets(*(DataSet(images[a:b], labels[a:b], seed=seed + i) for i, (a, b) in enumerate(zip(cut, cut[1:]))))
