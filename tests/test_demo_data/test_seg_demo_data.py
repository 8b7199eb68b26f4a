"""The segmentation demo configs read what the shapes generator writes."""
import copy
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from rla_lab.demo.shapes import (SEG_CLASSES, ShapesConfig, build_split,
                                 label_maps, write_dataset)

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs', 'demo')
SEG_DEMO_CONFIGS = ('fpn_r50_shapes_seg.py', 'fpn_rla_r50_shapes_seg.py')
TINY = ShapesConfig(num_train=2, num_val=3, image_size=64)


@pytest.mark.parametrize('name', SEG_DEMO_CONFIGS)
def test_seg_demo_config_reads_the_label_maps(name, tmp_path):
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    assert cfg.metainfo['classes'] == SEG_CLASSES
    assert len(cfg.metainfo['palette']) == len(SEG_CLASSES)
    assert cfg.model.decode_head.num_classes == len(SEG_CLASSES)
    write_dataset(str(tmp_path), TINY)

    loaders = dict(train=cfg.train_dataloader, val=cfg.test_dataloader)
    for split, loader in loaders.items():
        dataset_cfg = copy.deepcopy(loader.dataset)
        dataset_cfg.data_root = str(tmp_path)
        dataset = DATASETS.build(dataset_cfg)
        expected = label_maps(build_split(TINY, split)[1])
        assert len(dataset) == len(expected)
        for index, label_map in enumerate(expected):
            gt = dataset[index]['data_samples'].gt_sem_seg.data[0].numpy()
            if split == 'val':
                # Scored at the rendered size, on the written map.
                assert (gt == label_map).all()
            else:
                assert gt.shape == tuple(cfg.image_scale)
                assert set(np.unique(gt)) <= set(np.unique(label_map))
