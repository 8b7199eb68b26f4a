"""The shapes dataset a demo config names: every demo config names the one
its dataloaders read, and the one writer behind tools/demo.py and the
paired kit writes it where it is missing and never draws over another."""
import glob
import os.path as osp
from dataclasses import replace
from pathlib import Path

import pytest
from mmengine.config import Config

from rla_lab.demo.config_dataset import (DATASET_KEY, ConfigDataset,
                                         dataset_of, ensure_config_dataset,
                                         point_at_dataset)
from rla_lab.demo.shapes import (ShapesConfig, annotation_path,
                                 read_generator_config)
from rla_lab.demo.shapes_cls import CLS_SHAPES, read_cls_generator_config
from rla_lab.utils.runs import REPO_ROOT
from tools.misc.make_demo_dataset import demo_datasets

DEMO_CONFIGS = Path(REPO_ROOT) / 'configs' / 'demo'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# The kit's segmentation pair: the demo's dataset with 1000 val images.
SEG_PAIRS = DEMO_CONFIGS / 'pairs' / 'fpn_r50_shapes_seg.py'
CLS_PAIRS = DEMO_CONFIGS / 'pairs' / 'cls_r50_shapes.py'


def config(path: Path, **dataset: object) -> Config:
    """The config at ``path`` with ``dataset`` set in its shapes_dataset."""
    cfg = Config.fromfile(str(path))
    cfg.merge_from_dict({f'{DATASET_KEY}.{key}': value
                         for key, value in dataset.items()})
    return cfg


@pytest.mark.parametrize('path', sorted(
    glob.glob(str(DEMO_CONFIGS / '**' / '*.py'), recursive=True)))
def test_every_demo_config_reads_the_dataset_it_names(path: str):
    cfg = Config.fromfile(path)
    dataset = dataset_of(cfg)
    assert dataset is not None
    for loader in LOADERS:
        assert cfg[loader].dataset.data_root == dataset.root, loader
    if 'mask_rcnn' in path:
        assert cfg.test_evaluator.ann_file == osp.join(
            dataset.root, 'annotations', 'instances_val.json')


def test_the_demo_configs_name_the_demos_datasets():
    """The demos read the generator's default datasets; detection and
    segmentation the same one. make_demo_dataset.py writes what the demo
    configs name."""
    expected = {'det': ('data/demo_shapes', ShapesConfig()),
                'seg': ('data/demo_shapes', ShapesConfig()),
                'cls': ('data/demo_shapes_cls', CLS_SHAPES)}
    for task, name in (('det', 'mask_rcnn_r50_shapes.py'),
                       ('seg', 'fpn_r50_shapes_seg.py'),
                       ('cls', 'cls_r50_shapes.py')):
        dataset = dataset_of(Config.fromfile(str(DEMO_CONFIGS / name)))
        assert (osp.normpath(dataset.root), dataset.params) == expected[task]
    written = demo_datasets()
    assert [(osp.normpath(written[task].root), written[task].params)
            for task in ('det', 'cls')] == [expected['det'], expected['cls']]


def test_the_kits_datasets():
    """The kit's pairs read datasets of their own: seg, seg-half, seg-4x
    and det one with 1000 val images, seg-train1600 one with 1600 train
    images, cls the demo's classes."""
    pairs = DEMO_CONFIGS / 'pairs'
    shared = ConfigDataset('scenes', 'data/demo_shapes_pairs/',
                           ShapesConfig(num_val=1000))
    for name in ('fpn_r50_shapes_seg', 'fpn_rla_r50_half_shapes_seg',
                 'fpn_rla_r50_shapes_seg_4x', 'mask_rcnn_rla_r50_shapes'):
        assert dataset_of(Config.fromfile(str(pairs / f'{name}.py'))) == (
            shared), name
    assert dataset_of(Config.fromfile(
        str(pairs / 'fpn_rla_r50_shapes_seg_train1600.py'))) == (
            ConfigDataset('scenes', 'data/demo_shapes_train1600/',
                          ShapesConfig(num_train=1600, num_val=1000)))
    assert dataset_of(Config.fromfile(str(CLS_PAIRS))) == ConfigDataset(
        'classes', 'data/demo_shapes_cls_pairs/', CLS_SHAPES)


def test_point_at_dataset_sets_every_reader(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch):
    """A relative root is made absolute in every dataloader and, for
    Mask R-CNN, in the evaluators' annotation file."""
    monkeypatch.chdir(tmp_path)
    cfg = config(DEMO_CONFIGS / 'pairs' / 'mask_rcnn_r50_shapes.py',
                 root='shapes')
    dataset = point_at_dataset(cfg)
    root = str(tmp_path / 'shapes')
    assert dataset.root == root == cfg[DATASET_KEY].root
    for loader in LOADERS:
        assert cfg[loader].dataset.data_root == root
    for evaluator in ('val_evaluator', 'test_evaluator'):
        assert cfg[evaluator].ann_file == annotation_path(root, 'val')
    assert point_at_dataset(Config(dict(model=dict()))) is None


def test_the_variant_config_writes_its_dataset(tmp_path: Path):
    """The kit's seg config, its folder and sizes set: written once, then
    kept; a dataset drawn otherwise in its folder is refused, not drawn
    over, with the fix; a dry run writes nothing."""
    root = tmp_path / 'shapes'
    tiny = dict(root=str(root), num_train=3, num_val=2, image_size=64)
    cfg = config(SEG_PAIRS, **tiny)
    assert ensure_config_dataset(cfg, dry_run=True)
    assert not root.exists()
    assert ensure_config_dataset(cfg)
    drawn = ShapesConfig(num_train=3, num_val=2, image_size=64)
    assert read_generator_config(str(root)) == drawn
    assert not ensure_config_dataset(cfg)

    other = config(SEG_PAIRS, **{**tiny, 'num_train': 4, 'max_radius': 0.4})
    for dry_run in (True, False):
        with pytest.raises(ValueError) as error:
            ensure_config_dataset(other, dry_run)
        message = str(error.value)
        assert 'num_train: 3 -> 4, max_radius: 0.25 -> 0.4' in message
        assert 'shapes_dataset.root=DIR' in message
        assert f'delete {root}' in message
    assert read_generator_config(str(root)) == drawn

    # A classification dataset is not drawn over either.
    with pytest.raises(ValueError, match="holds a 'scenes' shapes dataset"):
        ensure_config_dataset(config(CLS_PAIRS, root=str(root),
                                     num_train=10, num_val=10))
    assert read_generator_config(str(root)) == drawn


def test_the_classification_config_writes_class_folders(tmp_path: Path):
    cfg = config(CLS_PAIRS, root=str(tmp_path), num_train=10, num_val=20)
    assert ensure_config_dataset(cfg)
    assert read_cls_generator_config(str(tmp_path)) == replace(
        CLS_SHAPES, num_train=10, num_val=20)


@pytest.mark.parametrize('path, dataset, message', [
    (SEG_PAIRS, dict(min_radius=0.4, max_radius=0.2),
     'need 0 < min_radius <= max_radius <= 0.5, got 0.4 and 0.2'),
    (SEG_PAIRS, dict(kind='coco'), "kind is 'coco'; choose one of"),
    (SEG_PAIRS, dict(num_tran=3), 'it has unknown num_tran'),
    (CLS_PAIRS, dict(max_objects=2), 'a classification image holds one'),
])
def test_bad_datasets_are_refused(path: Path, dataset: dict, message: str):
    with pytest.raises(ValueError, match='shapes_dataset') as error:
        dataset_of(config(path, **dataset))
    assert message in str(error.value)


def test_a_partial_dataset_is_refused():
    with pytest.raises(ValueError, match='it lacks kind, num_val') as error:
        dataset_of(dict(shapes_dataset=dict(root='x', num_train=3)))
    assert 'configs/demo/fpn_r50_shapes_seg.py' in str(error.value)
    with pytest.raises(ValueError, match='names no shapes dataset'):
        ensure_config_dataset(dict())
