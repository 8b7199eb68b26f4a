"""The classification demo's dataset: one shape per image, its label."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from rla_mm.datasets import (CLASSIFICATION_SHAPES,
                             ShapesClassificationDataset, render_split)
from rla_mm.demo.shapes import CATEGORIES, image_rng, render_image


def test_items_are_the_rendered_images_and_their_shape():
    dataset = ShapesClassificationDataset('val', num_images=6, seed=3)
    assert len(dataset) == 6
    assert dataset.metainfo['classes'] == CATEGORIES
    for index in range(6):
        image, shapes = render_image(image_rng(3, 'val', index),
                                     CLASSIFICATION_SHAPES)
        item = dataset[index]
        assert len(shapes) == 1
        assert item['data_samples'] == shapes[0].category
        assert item['inputs'].dtype == torch.uint8
        assert torch.equal(item['inputs'],
                           torch.from_numpy(image).permute(2, 0, 1))


def test_splits_differ_and_a_smaller_split_is_a_prefix():
    images, labels = render_split(CLASSIFICATION_SHAPES, 'train', 8)
    prefix, prefix_labels = render_split(CLASSIFICATION_SHAPES, 'train', 3)
    assert images.shape == (8, 32, 32, 3) and images.dtype == np.uint8
    assert np.array_equal(images[:3], prefix)
    assert np.array_equal(labels[:3], prefix_labels)
    val, _ = render_split(CLASSIFICATION_SHAPES, 'val', 8)
    assert not np.array_equal(images, val)


def test_classes_are_balanced():
    _, labels = render_split(CLASSIFICATION_SHAPES, 'train', 400)
    counts = np.bincount(labels, minlength=len(CATEGORIES))
    # Uniform draws: 100 expected per class, sd about 9.
    assert counts.min() > 70 and counts.max() < 130


def test_batches_collate_as_the_preprocessor_expects():
    dataset = ShapesClassificationDataset('train', num_images=3,
                                          image_size=48, noise_std=0)
    batch = pseudo_collate([dataset[i] for i in range(3)])
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 48, 48)] * 3
    assert batch['data_samples'] == dataset.labels


@pytest.mark.parametrize('kwargs, message', [
    (dict(split='test', num_images=2), "unknown split 'test'"),
    (dict(split='val', num_images=0), 'num_images must be >= 1'),
    (dict(split='val', num_images=2, max_objects=2), 'holds one shape'),
    (dict(split='val', num_images=2, image_size=16), 'image_size must be'),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShapesClassificationDataset(**kwargs)
