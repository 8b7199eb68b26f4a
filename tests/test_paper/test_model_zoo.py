"""The model-zoo files agree with the configs and with their sources."""
from pathlib import Path
from types import ModuleType

import mmdet
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MMDET_CONFIGS = Path(mmdet.__file__).parent / '.mim' / 'configs'


@pytest.fixture(scope='module')
def models() -> dict:
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    models = {}
    for metafile in index['Import']:
        meta = yaml.safe_load((REPO_ROOT / metafile).read_text())
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections
            models[model['Name']] = model
    return models


def box_ap(model: dict) -> float:
    (ap, ) = [r['Metrics']['box AP'] for r in model['Results']
              if 'box AP' in r['Metrics']]
    return ap


def test_every_coco_config_is_listed(models: dict):
    configs = sorted(p.stem for p in (REPO_ROOT / 'configs').glob('*.py'))
    assert sorted(models) == configs
    for name, model in models.items():
        assert model['Config'] == f'configs/{name}.py'
        assert (REPO_ROOT / model['Config']).is_file()
        assert model['Metadata']['Epochs'] == 12


def test_rla_results_are_the_papers(models: dict,
                                    paper_results: ModuleType):
    for (detector, backbone), paper in paper_results.PAPER_RLA.items():
        model = models[f'{detector}_{backbone}']
        assert 'paper' in model['Metadata']['Results from']
        assert box_ap(model) == paper['bbox_mAP']


@pytest.mark.skipif(not MMDET_CONFIGS.is_dir(),
                    reason='mmdet installed without its model-zoo files')
def test_baselines_are_mmdets(models: dict, paper_results: ModuleType):
    """Our baseline numbers and weights are those of mmdet's own zoo."""
    for (detector, backbone), expected in (
            paper_results.MMDET_BASELINES.items()):
        metafile = yaml.safe_load(
            (MMDET_CONFIGS / detector / 'metafile.yml').read_text())
        name = paper_results.MMDET_MODEL_NAMES[detector].format(
            backbone=backbone)
        (source, ) = [m for m in metafile['Models'] if m['Name'] == name]
        metrics = {}
        for result in source['Results']:
            metrics.update(result['Metrics'])
        assert metrics['box AP'] == expected['bbox_mAP']
        assert metrics.get('mask AP') == expected.get('segm_mAP')
        ours = models[f'{detector}_{backbone}']
        assert ours['Weights'] == source['Weights']
        assert box_ap(ours) == expected['bbox_mAP']


def test_readme_shows_the_papers_numbers(paper_results: ModuleType):
    readme = (REPO_ROOT / 'configs' / 'README.md').read_text()
    for (detector, backbone), paper in paper_results.PAPER_RLA.items():
        assert f'[config]({detector}_{backbone}.py)' in readme
        assert f'| {paper["bbox_mAP"]} |' in readme
