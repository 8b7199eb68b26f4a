import json

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO

from rla_mm.datasets.shapes import (CATEGORIES, ShapesConfig, annotation_path,
                                    build_split, coverage, ensure_dataset,
                                    image_rng, pieces_area, polygon_area,
                                    read_generator_config, render_image,
                                    shape_annotation, shape_geometry,
                                    subtract_convex, subtract_shape,
                                    write_dataset)

SMALL = ShapesConfig(num_train=6, num_val=4, image_size=96, max_objects=5)


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side],
                     [x0, y0 + side]], dtype=np.float64)


@pytest.fixture(scope='module')
def dataset_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('shapes'))
    write_dataset(root, SMALL)
    return root


def test_subtract_convex_is_exact_and_disjoint():
    a, b = square(0, 0, 4), square(2, 1, 4)
    pieces = subtract_convex(a, b)
    assert pieces_area(pieces) == pytest.approx(16 - 2 * 3)
    # Disjoint pieces: their union rasterized has the summed area.
    scaled = [p * 8 for p in pieces]
    assert coverage(scaled, 64).sum() == pytest.approx(
        pieces_area(scaled), abs=1e-6)
    assert all(polygon_area(p) > 0 for p in pieces)  # kept CCW

    assert subtract_convex(a, square(10, 10, 1)) == [a]  # apart
    assert subtract_convex(a, square(4, 0, 4)) == [a]  # touching only
    assert subtract_convex(square(1, 1, 1), a) == []  # fully covered


@pytest.mark.parametrize('category', CATEGORIES)
def test_shape_parts_tile_the_outline(category):
    outline, parts = shape_geometry(category, (50, 50), 30, 0.3)
    assert all(polygon_area(p) > 0 for p in parts)
    assert pieces_area(parts) == pytest.approx(abs(polygon_area(outline)))
    assert pieces_area(subtract_shape(parts, parts)) == pytest.approx(0)
    with pytest.raises(ValueError, match='unknown shape'):
        shape_geometry('hexagon', (0, 0), 1, 0)


def test_config_validation():
    with pytest.raises(ValueError, match='max_objects'):
        ShapesConfig(min_objects=3, max_objects=2)
    with pytest.raises(ValueError, match='image_size'):
        ShapesConfig(image_size=16)
    with pytest.raises(ValueError, match='min_visible'):
        ShapesConfig(min_visible=0)
    with pytest.raises(ValueError, match='split'):
        build_split(SMALL, 'test')


def test_generation_is_deterministic():
    images, coco = build_split(SMALL, 'train')
    images_again, coco_again = build_split(SMALL, 'train')
    assert coco == coco_again
    assert all((a == b).all() for a, b in zip(images, images_again))
    # A smaller dataset with the same seed is a prefix of a larger one.
    fewer, _ = build_split(ShapesConfig(**{**vars(SMALL), 'num_train': 2}),
                           'train')
    assert all((a == b).all() for a, b in zip(fewer, images))
    other, _ = build_split(ShapesConfig(**{**vars(SMALL), 'seed': 1}),
                           'train')
    assert not (other[0] == images[0]).all()


def test_every_shape_stays_visible_enough():
    for index in range(8):
        _, shapes = render_image(image_rng(0, 'train', index), SMALL)
        for shape in shapes:
            assert pieces_area(shape.visible) >= (
                SMALL.min_visible * pieces_area(shape.parts) - 1e-6)


def test_annotations_match_the_painted_shapes():
    """Decoded masks equal the visible pixels of each painted shape."""
    size = SMALL.image_size
    ious = []
    for index in range(8):
        _, shapes = render_image(image_rng(0, 'val', index), SMALL)
        # Which shape is on top at each pixel, in painting order.
        top = np.zeros((size, size), int)
        for k, shape in enumerate(shapes, 1):
            top[coverage(shape.parts, size) > 0.5] = k
        for k, shape in enumerate(shapes, 1):
            ann = shape_annotation(shape)
            rle = mask_utils.merge(
                mask_utils.frPyObjects(ann['segmentation'], size, size))
            mask = mask_utils.decode(rle).astype(bool)
            visible = top == k
            ious.append((mask & visible).sum() / (mask | visible).sum())
            # Only boundary pixels may differ between rasterizers.
            assert mask_utils.area(rle) == pytest.approx(ann['area'], rel=0.1)
            ys, xs = np.nonzero(mask)
            x, y, w, h = ann['bbox']
            assert abs(xs.min() - x) <= 1 and abs(ys.min() - y) <= 1
            assert abs(xs.max() + 1 - (x + w)) <= 1
            assert abs(ys.max() + 1 - (y + h)) <= 1
    assert min(ious) > 0.85
    assert np.mean(ious) > 0.97


def test_files_are_valid_coco(dataset_root):
    for split, num_images in (('train', SMALL.num_train),
                              ('val', SMALL.num_val)):
        coco = COCO(annotation_path(dataset_root, split))
        assert len(coco.getImgIds()) == num_images
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(
            CATEGORIES)
        anns = coco.loadAnns(coco.getAnnIds())
        assert anns and len({a['id'] for a in anns}) == len(anns)
        for ann in anns:
            image = coco.loadImgs(ann['image_id'])[0]
            x, y, w, h = ann['bbox']
            assert ann['iscrowd'] == 0 and ann['area'] > 0
            assert 0 <= x and 0 <= y and w > 0 and h > 0
            assert x + w <= image['width'] and y + h <= image['height']
            assert all(
                len(p) >= 6 and len(p) % 2 == 0 for p in ann['segmentation'])
            assert coco.annToMask(ann).sum() > 0


def test_ensure_dataset_skips_identical_data(dataset_root, tmp_path):
    assert read_generator_config(dataset_root) == SMALL
    assert not ensure_dataset(dataset_root, SMALL)

    root = str(tmp_path)
    assert read_generator_config(root) is None
    tiny = ShapesConfig(num_train=1, num_val=1, image_size=64)
    assert ensure_dataset(root, tiny)
    assert not ensure_dataset(root, tiny)
    assert ensure_dataset(root, tiny, force=True)
    bigger = ShapesConfig(num_train=2, num_val=1, image_size=64)
    assert ensure_dataset(root, bigger)
    assert read_generator_config(root) == bigger
    with open(annotation_path(root, 'train')) as f:
        coco = json.load(f)
    assert len(coco['images']) == 2
    # Written by another version of the generator: not reused.
    coco['info']['generator_version'] = -1
    with open(annotation_path(root, 'train'), 'w') as f:
        json.dump(coco, f)
    assert read_generator_config(root) is None


def test_mmdet_reads_and_scores_the_dataset(dataset_root):
    """CocoDataset loads it and CocoMetric gives AP 1 to the ground truth."""
    import torch
    from mmdet.datasets import CocoDataset
    from mmdet.evaluation import CocoMetric
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')

    dataset = CocoDataset(
        data_root=dataset_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        metainfo=dict(classes=CATEGORIES),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        ])
    assert len(dataset) == SMALL.num_val
    metric = CocoMetric(
        ann_file=annotation_path(dataset_root, 'val'),
        metric=['bbox', 'segm'])
    metric.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        sample = dataset[index]
        assert sample['img'].shape == (SMALL.image_size, SMALL.image_size, 3)
        boxes = torch.as_tensor(sample['gt_bboxes'].tensor)
        masks = sample['gt_masks'].to_ndarray().astype(bool)
        assert len(boxes) == len(masks) > 0
        pred = dict(
            bboxes=boxes,
            scores=torch.ones(len(boxes)),
            labels=torch.as_tensor(sample['gt_bboxes_labels']),
            masks=torch.as_tensor(masks))
        metric.process({}, [dict(img_id=sample['img_id'],
                                 ori_shape=sample['ori_shape'],
                                 pred_instances=pred)])
    results = metric.evaluate(len(dataset))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/segm_mAP'] == pytest.approx(1.0)
