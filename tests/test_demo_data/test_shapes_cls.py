"""The classification demo's dataset: one shape per image in class folders,
as MMPretrain's CustomDataset reads them."""
import os.path as osp
from dataclasses import replace
from pathlib import Path
from typing import Dict

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from rla_lab.demo.config_dataset import redraw_unless_present
from rla_lab.demo.shapes import (CATEGORIES, EXTRA_SHAPES, SHAPE_KINDS,
                                 image_rng, paint_alpha, rasterize,
                                 render_image, shape_geometry)
from rla_lab.demo.shapes_cls import (CLASSES, CLS_SHAPES, INFO_FILE,
                                     image_label, image_path,
                                     read_cls_generator_config,
                                     render_cls_image, write_cls_dataset)
from rla_lab.utils.runs import REPO_ROOT

SMALL = replace(CLS_SHAPES, num_train=23, num_val=12)
CONFIG = osp.join(REPO_ROOT, 'configs', 'demo', 'cls_rla_r50_shapes.py')


def files(root: Path) -> Dict[str, bytes]:
    """Every file under ``root`` by its relative path, with its bytes."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob('*')) if path.is_file()
    }


def test_classes_are_the_shape_kinds_in_folder_order():
    # CustomDataset numbers the classes by their sorted folder names.
    assert list(CLASSES) == sorted(CLASSES) == sorted(SHAPE_KINDS)
    assert set(CATEGORIES) < set(CLASSES) and len(CLASSES) > 5
    # Balanced: image i shows class i mod 10.
    assert [image_label(i) for i in range(23)] == [*range(10)] * 2 + [0, 1, 2]


def test_writer_is_deterministic_and_complete(tmp_path: Path):
    write_cls_dataset(str(tmp_path / 'a'), SMALL)
    write_cls_dataset(str(tmp_path / 'b'), SMALL)
    written = files(tmp_path / 'a')
    assert written == files(tmp_path / 'b')
    assert read_cls_generator_config(str(tmp_path / 'a')) == SMALL

    for split, num in (('train', 23), ('val', 12)):
        for name in CLASSES:
            # Every class has its folder, with its share of the images.
            count = len(list((tmp_path / 'a' / split / name).glob('*.png')))
            assert count == len(range(CLASSES.index(name), num, 10))
        for index in range(num):
            path = image_path(str(tmp_path / 'a'), split, index)
            assert osp.basename(osp.dirname(path)) == CLASSES[
                image_label(index)]
            image, label = render_cls_image(SMALL, split, index)
            assert label == image_label(index)
            # PNG is lossless: the file is the rendered image.
            assert np.array_equal(
                cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB), image)
    assert sum(1 for name in written if name.endswith('.png')) == 23 + 12
    assert not np.array_equal(
        render_cls_image(SMALL, 'train', 0)[0],
        render_cls_image(SMALL, 'val', 0)[0])

    # A smaller dataset is a prefix of a larger one.
    write_cls_dataset(str(tmp_path / 'c'), replace(SMALL, num_train=5))
    smaller = files(tmp_path / 'c')
    for name, content in smaller.items():
        if name.startswith('train'):
            assert written[name] == content, name


def test_an_image_shows_one_shape_of_its_class():
    for index in range(10):
        _, shapes = render_image(
            image_rng(SMALL.seed, 'train', index), SMALL,
            categories=(CLASSES[image_label(index)], ))
        assert len(shapes) == 1 and shapes[0].category == 0
    image, _ = render_cls_image(SMALL, 'train', 3)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8


def test_ensure_reuses_a_complete_dataset_only(tmp_path: Path):
    root = str(tmp_path)
    assert redraw_unless_present('classes', root, SMALL)
    assert not redraw_unless_present('classes', root, SMALL)
    # A missing image, a missing marker, other parameters: rewritten.
    Path(image_path(root, 'val', 7)).unlink()
    assert read_cls_generator_config(root) is None
    assert redraw_unless_present('classes', root, SMALL)
    assert read_cls_generator_config(root) == SMALL
    (tmp_path / INFO_FILE).unlink()
    assert redraw_unless_present('classes', root, SMALL)
    # A stray image, which CustomDataset would read as a star.
    (tmp_path / 'val' / 'star' / 'stray.png').write_bytes(b'')
    assert read_cls_generator_config(root) is None
    assert redraw_unless_present('classes', root, SMALL)
    assert not (tmp_path / 'val' / 'star' / 'stray.png').exists()
    fewer = replace(SMALL, num_train=11, num_val=10)
    assert redraw_unless_present('classes', root, fewer)
    # The images of the larger dataset are gone.
    assert len(list((tmp_path / 'train').rglob('*.png'))) == 11
    assert read_cls_generator_config(root) == fewer
    assert redraw_unless_present('classes', root, SMALL, force=False)
    assert redraw_unless_present('classes', root, SMALL, force=True)


def test_writer_refuses_what_customdataset_would_misread(tmp_path: Path):
    with pytest.raises(ValueError, match='holds one shape'):
        write_cls_dataset(str(tmp_path), replace(SMALL, max_objects=2))
    (tmp_path / 'val' / 'dog').mkdir(parents=True)
    with pytest.raises(ValueError, match=r'not classes .*\(dog\)'):
        write_cls_dataset(str(tmp_path), SMALL)


@pytest.mark.parametrize('kind', sorted(EXTRA_SHAPES))
def test_extra_shapes_fit_their_circumradius_and_rasterize(kind: str):
    center, radius = np.array([50.0, 50.0]), 30
    outline = shape_geometry(kind, center, radius, 0.3)
    assert np.linalg.norm(outline - center, axis=1).max() == pytest.approx(
        radius)
    area = cv2.contourArea(outline.astype(np.float32))
    assert area > 0.2 * np.pi * radius**2
    pixels = rasterize(outline, 100).sum()
    # A pixel-centre raster misses or adds at most a thin boundary band.
    assert abs(pixels - area) < 0.05 * area
    assert paint_alpha(outline, 100).sum() == pytest.approx(area, rel=0.01)
    # Rotation turns the outline about its centre.
    turned = shape_geometry(kind, center, radius, 0.3 + np.pi / 2)
    expected = center + (outline - center) @ np.array([[0, 1], [-1, 0]])
    np.testing.assert_allclose(turned, expected, atol=1e-9)


def config_dataset(root: Path, split: str):
    """The dataset of the demo config's ``split`` loader, read from
    ``root``."""
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(CONFIG)
    loader = 'train_dataloader' if split == 'train' else 'test_dataloader'
    dataset = dict(cfg[loader].dataset, data_root=str(root))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(dataset)


def test_the_config_reads_the_labels_written(tmp_path: Path):
    write_cls_dataset(str(tmp_path), SMALL)
    for split, num in (('train', 23), ('val', 12)):
        dataset = config_dataset(tmp_path, split)
        assert dataset.metainfo['classes'] == CLASSES
        assert len(dataset) == num
        for info in (dataset.get_data_info(i) for i in range(num)):
            index = int(Path(info['img_path']).stem)
            assert info['gt_label'] == image_label(index)
            assert info['img_path'] == image_path(str(tmp_path), split,
                                                  index)
        item = dataset[0]
        assert tuple(item['inputs'].shape) == (3, 32, 32)


def test_a_split_without_images_is_an_error(tmp_path: Path):
    """What CustomDataset says: that there are no images, and where."""
    for name in CLASSES:
        (tmp_path / 'train' / name).mkdir(parents=True)
    with pytest.raises(RuntimeError, match='Found 0 files in subfolders of'
                       ) as error:
        config_dataset(tmp_path, 'train')
    assert str(tmp_path / 'train') in str(error.value)
