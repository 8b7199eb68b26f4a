import json
import os
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO

from rla_lab.demo.config_dataset import redraw_unless_present
from rla_lab.demo.shapes import (CATEGORIES, SEG_CLASSES, ShapesConfig,
                                 annotation_path, background_only_miou,
                                 build_split, image_rng, label_maps,
                                 paint_alpha, rasterize, read_generator_config,
                                 render_image, seg_map_dir, shape_annotation,
                                 shape_geometry, write_dataset)

SMALL = ShapesConfig(num_train=6, num_val=4, image_size=96, max_objects=5)
SEG_PALETTE = [(0, 0, 0), (220, 20, 60), (0, 120, 230), (250, 170, 30),
               (0, 160, 80)]


def square(x0: float, y0: float, side: float) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side],
                     [x0, y0 + side]], dtype=np.float64)


def top_shape_map(shapes, size: int) -> np.ndarray:
    """Index (from 1) of the shape on top at each pixel, 0 for none."""
    top = np.zeros((size, size), int)
    for k, shape in enumerate(shapes, 1):
        top[shape.mask] = k
    return top


@pytest.fixture(scope='module')
def dataset_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('shapes'))
    write_dataset(root, SMALL)
    return root


def test_rasterize_and_paint_follow_coco_pixels():
    # Pixel (i, j) spans [j, j+1) x [i, i+1): its centre decides.
    mask = rasterize(square(2.4, 2.4, 4), 10)
    expected = np.zeros((10, 10), bool)
    expected[2:6, 2:6] = True
    assert (mask == expected).all()
    # 3x3 sub-pixels: columns 2 and 6 hold 2 and 1 of them.
    alpha = paint_alpha(square(2.4, 2.4, 4), 10)
    assert alpha.sum() == pytest.approx(16)
    assert alpha[2, 2] == pytest.approx(4 / 9)
    assert alpha[4, 6] == pytest.approx(1 / 3)
    assert alpha[3:6, 3:6] == pytest.approx(1)


@pytest.mark.parametrize('category', CATEGORIES)
def test_shape_outlines_rasterize_to_their_area(category):
    outline = shape_geometry(category, (50, 50), 30, 0.3)
    area = cv2.contourArea(outline.astype(np.float32))
    pixels = rasterize(outline, 100).sum()
    # A pixel-centre raster misses or adds at most a thin boundary band.
    assert abs(pixels - area) < 0.05 * area
    assert paint_alpha(outline, 100).sum() == pytest.approx(area, rel=0.01)
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
    occluded = 0
    for index in range(8):
        _, shapes = render_image(image_rng(0, 'train', index), SMALL)
        for shape in shapes:
            assert shape.visible.sum() >= SMALL.min_visible * shape.mask.sum()
            occluded += int((shape.visible != shape.mask).any())
    assert occluded > 0  # else this test would check nothing


def test_annotations_are_the_visible_pixels():
    """Decoded masks are the pixels where a shape is on top, exactly, and
    match what is painted but for anti-aliased boundary pixels."""
    size = SMALL.image_size
    ious = []
    for index in range(8):
        _, shapes = render_image(image_rng(0, 'val', index), SMALL)
        top = top_shape_map(shapes, size)
        # The shape painted last with at least half a pixel's coverage.
        painted = np.zeros((size, size), int)
        for k, shape in enumerate(shapes, 1):
            painted[paint_alpha(shape.outline, size) >= 0.5] = k
        for k, shape in enumerate(shapes, 1):
            ann = shape_annotation(shape)
            assert ann['category_id'] == shape.category + 1
            mask = mask_utils.decode(ann['segmentation']).astype(bool)
            assert (mask == (top == k)).all()
            assert ann['area'] == mask.sum()
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [
                xs.min(), ys.min(), xs.max() + 1 - xs.min(),
                ys.max() + 1 - ys.min()
            ]
            ious.append((mask & (painted == k)).sum() /
                        (mask | (painted == k)).sum())
    assert min(ious) > 0.9
    assert np.mean(ious) > 0.98


def test_label_maps_agree_with_the_instances():
    size = SMALL.image_size
    _, coco = build_split(SMALL, 'val')
    maps = label_maps(coco)
    assert len(maps) == SMALL.num_val
    for index, label_map in enumerate(maps):
        assert label_map.dtype == np.uint8 and label_map.shape == (size, size)
        _, shapes = render_image(image_rng(0, 'val', index), SMALL)
        top = top_shape_map(shapes, size)
        categories = np.array([0] + [s.category + 1 for s in shapes])
        assert (label_map == categories[top]).all()
        assert label_map.max() < len(SEG_CLASSES)


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
            assert ann['segmentation']['size'] == [
                image['height'], image['width']
            ]
            assert coco.annToMask(ann).sum() == ann['area']
        names = sorted(os.listdir(seg_map_dir(dataset_root, split)))
        assert names == sorted(
            image['file_name'] for image in coco.dataset['images'])


def test_ensure_dataset_skips_identical_data(dataset_root, tmp_path):
    assert read_generator_config(dataset_root) == SMALL
    assert not redraw_unless_present('scenes', dataset_root, SMALL)

    root = str(tmp_path)
    assert read_generator_config(root) is None
    tiny = ShapesConfig(num_train=1, num_val=1, image_size=64)
    assert redraw_unless_present('scenes', root, tiny)
    assert not redraw_unless_present('scenes', root, tiny)
    assert redraw_unless_present('scenes', root, tiny, force=True)
    bigger = ShapesConfig(num_train=2, num_val=1, image_size=64)
    assert redraw_unless_present('scenes', root, bigger)
    assert read_generator_config(root) == bigger
    with open(annotation_path(root, 'train')) as f:
        coco = json.load(f)
    assert len(coco['images']) == 2
    # A label map missing: incomplete, not reused.
    os.remove(osp.join(seg_map_dir(root, 'val'), '00000.png'))
    assert read_generator_config(root) is None
    assert redraw_unless_present('scenes', root, bigger)
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


def test_mmseg_reads_and_scores_the_label_maps(dataset_root):
    """BaseSegDataset loads the label maps; IoUMetric gives mIoU 100 to the
    ground truth and background_only_miou's score to all background."""
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.datasets import BaseSegDataset
    from mmseg.evaluation import IoUMetric
    init_default_scope('mmseg')

    dataset = BaseSegDataset(
        data_root=dataset_root,
        data_prefix=dict(
            img_path='val', seg_map_path='annotations/semantic_val'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=dict(classes=SEG_CLASSES, palette=SEG_PALETTE),
        reduce_zero_label=False,
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
        ])
    assert len(dataset) == SMALL.num_val
    _, coco = build_split(SMALL, 'val')
    perfect, background = IoUMetric(), IoUMetric()
    for metric in (perfect, background):
        metric.dataset_meta = dataset.metainfo
    for index, expected in enumerate(label_maps(coco)):
        sample = dataset[index]
        assert sample['img'].shape == (SMALL.image_size, SMALL.image_size, 3)
        assert (sample['gt_seg_map'] == expected).all()
        gt = dict(data=torch.from_numpy(sample['gt_seg_map'])[None])
        perfect.process({}, [dict(pred_sem_seg=gt, gt_sem_seg=gt)])
        zeros = dict(data=torch.zeros_like(gt['data']))
        background.process({}, [dict(pred_sem_seg=zeros, gt_sem_seg=gt)])
    assert perfect.compute_metrics(perfect.results)['mIoU'] == 100
    floor = background.compute_metrics(background.results)['mIoU']
    assert 0 < floor < 100 / len(SEG_CLASSES)
    assert background_only_miou(dataset_root, 'val') == pytest.approx(
        floor, abs=0.005)
    with pytest.raises(ValueError, match='no label maps'):
        background_only_miou(dataset_root + '/missing')
