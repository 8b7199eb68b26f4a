"""The model zoo: the metafile agrees with the configs and with its sources,
and configs/README.md shows what the metafile holds."""
from pathlib import Path
from typing import Any, Dict, List

import mmdet
import pytest
import yaml
from mmengine.config import Config

from rla_lab.paper.catalog import BACKBONES, CLASSIFIERS, DETECTORS
from rla_lab.paper.metafile import (MMDET, MMSEG, PAPER, ZooModel,
                                    read_metafile, read_model_index)
from rla_lab.paper.zoo_readme import generated_blocks, render, schedule
from rla_lab.utils.runs import REPO_ROOT

ROOT = Path(REPO_ROOT)
README = ROOT / 'configs' / 'README.md'
# The RLA backbones of the paper's COCO tables.
DETECTION_BACKBONES = ('rla_r50', 'eca_rla_r50', 'rla_r101', 'eca_rla_r101')
MMDET_CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs'


@pytest.fixture(scope='module')
def zoo() -> Dict[str, ZooModel]:
    return read_model_index(str(ROOT / 'model-index.yml'))


def published(configs: Path, pattern: str) -> Dict[str, dict]:
    """Every model of an installed codebase's metafiles, by name."""
    models = {}
    for path in configs.glob(pattern):
        meta = yaml.safe_load(path.read_text())
        # A few metafiles (e.g. mmdet's model-wide ones) are not a zoo.
        for model in meta.get('Models', []) if isinstance(meta, dict) else []:
            models[model['Name']] = model
    return models


def metrics_of(model: dict) -> Dict[str, float]:
    results = model['Results']
    metrics = {}
    for result in results if isinstance(results, list) else [results]:
        metrics.update(result['Metrics'])
    return metrics


def row_cells(text: str, needle: str) -> List[str]:
    """The cells of the first table row that holds ``needle``."""
    (row, *_) = [line for line in text.splitlines()
                 if line.startswith('|') and needle in line]
    return [cell.strip() for cell in row.strip('|').split('|')]


def test_every_config_is_listed(zoo: Dict[str, ZooModel]):
    """Every detection and segmentation config, and the ImageNet configs of
    the kit's backbones."""
    imagenet = [
        family.config_name(b) for family in CLASSIFIERS.values()
        for b in BACKBONES
        if (ROOT / 'configs' / f'{family.config_name(b)}.py').is_file()
    ]
    configs = [p.stem for p in (ROOT / 'configs').glob('*.py')] + imagenet
    assert sorted(model.config for model in zoo.values()) == sorted(
        f'configs/{name}.py' for name in configs)
    for name, model in zoo.items():
        assert model.config.endswith(f'/{name}.py')
        expected = ('120e', '400e') if model.config in [
            f'configs/{name}.py' for name in imagenet] else ('1x', '80k',
                                                            '160k')
        assert schedule(model.metadata) in expected


def test_the_papers_detectors(zoo: Dict[str, ZooModel]):
    """The 12 RLA detectors carry the paper's box AP, AP50 and AP75."""
    for detector in DETECTORS.values():
        for backbone in DETECTION_BACKBONES:
            model = zoo[detector.config_name(backbone)]
            assert model.results.source == PAPER
            assert set(model.results.metrics) == {'box AP', 'AP50', 'AP75'}
    # Spot checks against the paper's tables.
    assert zoo['faster_rcnn_rla_r50'].results.metrics == {
        'box AP': 38.8, 'AP50': 59.6, 'AP75': 42.0}
    assert zoo['mask_rcnn_eca_rla_r101'].results.metrics['box AP'] == 42.9


@pytest.mark.skipif(not MMDET_CONFIGS.is_dir(),
                    reason='mmdet installed without its model-zoo files')
def test_detection_baselines_are_mmdets(zoo: Dict[str, ZooModel]):
    """Our baselines' numbers and weights are those of mmdet's own zoo."""
    sources = published(MMDET_CONFIGS, '*/metafile.yml')
    baselines = [m for m in zoo.values()
                 if m.results and m.results.source == MMDET]
    assert len(baselines) == 6
    for model in baselines:
        source = sources[model.results.source_model]
        theirs = metrics_of(source)
        assert model.results.metrics == {
            k: theirs[k] for k in model.results.metrics}
        assert model.weights == source['Weights']


@pytest.fixture(scope='module')
def mmseg_configs() -> Path:
    import mmseg
    configs = Path(mmseg.__file__).parent / '.mim' / 'configs'
    if not configs.is_dir():
        pytest.skip('mmseg installed without its model-zoo files')
    return configs


def test_segmentation_numbers_are_mmsegs(zoo: Dict[str, ZooModel],
                                         mmseg_configs: Path):
    """Results and context numbers are cited exactly from mmseg's
    metafiles; only RLA configs are left without any."""
    sources = published(mmseg_configs, '*/metafile.yaml')
    cited = [(m, c) for m in zoo.values() for c in m.context
             if c.source == MMSEG]
    assert {m.name for m, _ in cited} == {
        'upernet_r50_160k_ade20k', 'upernet_r101_160k_ade20k',
        'upernet_r50_80k_ade20k', 'fpn_r50_160k_ade20k',
        'deeplabv3plus_r50_d8_80k_cityscapes'}
    for model, context in cited:
        assert context.source == MMSEG
        assert context.metrics == metrics_of(sources[context.source_model])
    (baseline, ) = [m for m in zoo.values()
                    if m.results and m.results.source == MMSEG]
    source = sources[baseline.results.source_model]
    assert baseline.results.metrics == metrics_of(source)
    assert baseline.weights == source['Weights']


def test_imagenet_numbers_are_the_papers_and_mmpretrains(
        zoo: Dict[str, ZooModel]):
    """The RLA classifiers' numbers are 100 minus the paper's errors; the
    plain twins' context is cited exactly from mmpretrain's metafile."""
    import mmpretrain
    configs = Path(mmpretrain.__file__).parent / '.mim' / 'configs'
    sources = published(configs, 'resnet/metafile.yml')
    errors = {'rla_r50_8xb32': (22.83, 6.58),
              'eca_rla_r50_8xb32': (22.15, 6.11),
              'rla_r101_8xb32': (21.48, 5.80),
              'eca_rla_r101_8xb32': (21.00, 5.51),
              'rla_mobilenetv2_1xb96': (27.62, 9.18),
              'eca_rla_mobilenetv2_1xb96': (27.07, 8.89)}
    for name, (top1, top5) in errors.items():
        model = zoo[f'{name}_in1k']
        assert model.results.source == PAPER
        assert model.results.metrics == {'top-1': round(100 - top1, 2),
                                         'top-5': round(100 - top5, 2)}
    sources.update(published(configs, 'mobilenet_v2/metafile.yml'))
    sources.update(published(configs, 'resnext/metafile.yml'))
    for name in ('r50_8xb32', 'r101_8xb32', 'r152_8xb32', 'x50_32x4d_8xb32',
                 'x101_32x4d_8xb32', 'mobilenetv2_1xb96'):
        (context, ) = zoo[f'{name}_in1k'].context
        source = metrics_of(sources[context.source_model])
        assert context.metrics == {'top-1': source['Top 1 Accuracy'],
                                   'top-5': source['Top 5 Accuracy']}


def without_scope(value: Any) -> Any:
    """A config value without the ``_scope_`` keys ``mmseg::`` adds."""
    if isinstance(value, dict):
        return {k: without_scope(v) for k, v in value.items()
                if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(without_scope(v) for v in value)
    return value


def test_mmsegs_results_are_of_the_identical_config(
        zoo: Dict[str, ZooModel], mmseg_configs: Path):
    """A baseline that shows mmseg's results is mmseg's config to the
    letter, but for how the same ImageNet weights are named, the plugin's
    import and RNG-state hook, and the backbone snippet's own entry."""
    for model in zoo.values():
        if not (model.results and model.results.source == MMSEG):
            continue
        ours = Config.fromfile(ROOT / model.config).to_dict()
        (path, ) = mmseg_configs.glob(f'*/{model.results.source_model}.py')
        theirs = Config.fromfile(path).to_dict()
        # mmseg hands a model-level `pretrained` to the backbone.
        assert theirs['model'].pop('pretrained') == ours['model'][
            'backbone'].pop('init_cfg')['checkpoint']
        assert ours['model'].pop('pretrained') is None
        for key in ('custom_imports', 'custom_hooks', 'resnet_backbone'):
            ours.pop(key)
        assert without_scope(ours) == without_scope(theirs)


def test_readme_is_generated_from_the_metafile(zoo: Dict[str, ZooModel]):
    readme = README.read_text()
    assert render(readme, generated_blocks(zoo)) == readme, (
        'configs/README.md is out of date: run python '
        'tools/paper/zoo_readme.py')
    for model in zoo.values():
        assert f'({model.config[len("configs/"):]})' in readme
    assert row_cells(readme, '(faster_rcnn_rla_r50.py)')[3:6] == [
        '38.8', '59.6', '42.0']
    assert row_cells(readme, '`fpn_r50_4xb4-160k_ade20k-512x512`')[-2:] == [
        '37.49', '39.09']


def test_readme_changes_with_the_metafile(zoo: Dict[str, ZooModel],
                                          tmp_path: Path):
    metafile = yaml.safe_load((ROOT / 'configs' / 'metafile.yml').read_text())
    for model in metafile['Models']:
        if model['Name'] == 'retinanet_rla_r101':
            model['Results'][0]['Metrics']['box AP'] = 99.9
    path = tmp_path / 'metafile.yml'
    path.write_text(yaml.safe_dump(metafile))
    changed = render(README.read_text(), generated_blocks(read_metafile(path)))
    assert row_cells(changed, '(retinanet_rla_r101.py)')[3] == '99.9'
    # RetinaNet RLA-R-101 against mmdet's 38.5.
    assert '+61.4' in changed


def test_generator_refuses_what_it_cannot_place(zoo: Dict[str, ZooModel]):
    unknown = ZooModel('yolox_rla_r50', 'configs/yolox_rla_r50.py',
                       'RLA-Net', {})
    with pytest.raises(ValueError, match=r"in no table: \['yolox_rla_r50'\]"):
        generated_blocks({**zoo, unknown.name: unknown})
    with pytest.raises(ValueError, match='generated blocks'):
        render('# no blocks here\n', generated_blocks(zoo))


def test_metafile_errors_name_the_fix(tmp_path: Path):
    path = tmp_path / 'metafile.yml'
    path.write_text(yaml.safe_dump(dict(
        Collections=[dict(Name='RLA-Net')],
        Models=[dict(Name='m', Config='configs/m.py', **{
            'In Collection': 'RLA-Net',
            'Metadata': {'Results from': 'a blog'},
            'Results': [dict(Metrics={'box AP': 1.0})]})])))
    with pytest.raises(ValueError, match='"Results from" is \'a blog\''):
        read_metafile(str(path))


def test_backbone_names_are_unique():
    names = [b.name for b in BACKBONES.values()]
    assert len(set(names)) == len(names)
