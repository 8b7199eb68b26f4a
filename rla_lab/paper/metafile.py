"""Reader of the model zoo's one source of numbers, ``configs/metafile.yml``.

The metafile is OpenMMLab's model-index format (what ``mim`` reads, through
``model-index.yml``). Besides mim's fields, a model's ``Metadata`` says whose
its results are (``Results from``, one of ``SOURCE_LABELS``, and ``Source
model``, that zoo's model name), and may hold a ``Context`` block: results
published for a related but different model (e.g. mmseg's ResNetV1c version
of a segmentor), with the same three keys and ``Metrics``, kept out of the
model's own ``Results``.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import yaml

PAPER = 'RLA-Net paper'
MMDET = 'MMDetection model zoo'
MMSEG = 'MMSegmentation model zoo'
MMPRETRAIN = 'MMPretrain model zoo'
# ``Results from`` -> its short label in the README's tables.
SOURCE_LABELS: Dict[str, str] = {PAPER: 'paper', MMDET: 'mmdet',
                                 MMSEG: 'mmseg', MMPRETRAIN: 'mmpretrain'}


@dataclass(frozen=True)
class Results:
    """Published results and whose they are.

    Attributes:
        source (str): One of ``SOURCE_LABELS``.
        metrics (dict[str, float]): Metric name -> value in percent, every
            ``Results`` entry merged, e.g. ``{'box AP': 38.8, ...}``.
        source_model (str, optional): The model's name in that source's
            zoo, e.g. ``'faster-rcnn_r50_fpn_1x_coco'``.
        backbone (str, optional): What differs from our config, for context
            results, e.g. ``'ResNetV1c (deep stem)'``.
    """
    source: str
    metrics: Dict[str, float]
    source_model: Optional[str] = None
    backbone: Optional[str] = None


@dataclass(frozen=True)
class ZooModel:
    """One model of the metafile.

    Attributes:
        name (str): Its name, the config's file name without ``.py``.
        config (str): The config, relative to the repository root.
        collection (str): Its ``In Collection``.
        metadata (dict): Its ``Metadata`` as written.
        results (Results, optional): Its published results; None while
            there are none.
        context (tuple[Results, ...]): Results of related models, for
            comparison only.
        weights (str, optional): URL of its trained weights.
    """
    name: str
    config: str
    collection: str
    metadata: Dict[str, Any]
    results: Optional[Results] = None
    context: Tuple[Results, ...] = ()
    weights: Optional[str] = None


def _source(where: str, metadata: Dict[str, Any]) -> str:
    source = metadata.get('Results from')
    if source not in SOURCE_LABELS:
        raise ValueError(
            f'{where}: "Results from" is {source!r}; write one of '
            f'{sorted(SOURCE_LABELS)} (a new source needs its label in '
            'rla_lab.paper.metafile.SOURCE_LABELS).')
    return source


def _model(entry: Dict[str, Any], metafile: str) -> ZooModel:
    name = entry.get('Name')
    where = f'{metafile}, model {name}'
    missing = [
        k for k in ('Name', 'Config', 'In Collection') if k not in entry
    ]
    if missing:
        raise ValueError(f'{where}: add {", ".join(missing)}.')
    metadata = dict(entry.get('Metadata') or {})
    results = None
    if entry.get('Results'):
        metrics: Dict[str, float] = {}
        for result in entry['Results']:
            metrics.update(result['Metrics'])
        results = Results(
            _source(where, metadata), metrics, metadata.get('Source model'))
    elif 'Results from' in metadata:
        raise ValueError(f'{where}: "Results from" without Results; remove '
                         'it or add the results.')
    context = tuple(
        Results(
            _source(f'{where}, Context', block), dict(block['Metrics']),
            block.get('Source model'), block.get('Backbone'))
        for block in metadata.get('Context', []))
    return ZooModel(name, entry['Config'], entry['In Collection'], metadata,
                    results, context, entry.get('Weights'))


def read_metafile(path: str) -> Dict[str, ZooModel]:
    """The models of one metafile, by name, in file order.

    Raises:
        ValueError: If a model lacks a required field, names an unknown
            collection or source, or appears twice.
    """
    with open(path) as f:
        meta = yaml.safe_load(f)
    collections = {c['Name'] for c in meta.get('Collections', [])}
    models: Dict[str, ZooModel] = {}
    for entry in meta.get('Models', []):
        model = _model(entry, path)
        if model.collection not in collections:
            raise ValueError(
                f'{path}, model {model.name}: collection '
                f'{model.collection!r} is not among the Collections '
                f'{sorted(collections)}.')
        if model.name in models:
            raise ValueError(f'{path}: model {model.name} is listed twice.')
        models[model.name] = model
    return models


def read_model_index(path: str) -> Dict[str, ZooModel]:
    """Every model of the metafiles a ``model-index.yml`` imports.

    Args:
        path (str): The ``model-index.yml``; its ``Import`` entries are
            relative to its folder.
    """
    with open(path) as f:
        index = yaml.safe_load(f)
    models: Dict[str, ZooModel] = {}
    for metafile in index['Import']:
        found = read_metafile(osp.join(osp.dirname(path), metafile))
        twice = sorted(set(found) & set(models))
        if twice:
            raise ValueError(f'{path}: models in two metafiles: {twice}.')
        models.update(found)
    return models
