"""The model-zoo tables of ``configs/README.md``, generated from the metafile.

The README holds hand-written prose and generated blocks, each between
``<!-- BEGIN GENERATED: <name> -->`` and ``<!-- END GENERATED: <name> -->``;
:func:`render` replaces every block's content with what
:func:`generated_blocks` makes of the metafile, so the numbers are written
once, in ``configs/metafile.yml``.
"""
import os.path as osp
import re
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ..utils.preflight import RLA_RELEASE_URL
from .catalog import BACKBONES, CLASSIFIERS, DETECTORS, SEGMENTORS, Family
from .markdown import markdown_table
from .metafile import MMDET, PAPER, SOURCE_LABELS, ZooModel

MISSING = '-'
NO_RESULTS = 'none yet'
CONFIG_DIR = 'configs'
_BLOCK = re.compile(
    r'(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)(?P<body>.*?)'
    r'(<!-- END GENERATED: (?P=name) -->)', re.S)


def schedule(metadata: Mapping) -> str:
    """A model's schedule as the zoo tables write it: ``1x``, ``160k``.

    mmdet's ``1x`` is 12 epochs (up to 3x); an iteration count is written
    in thousands, as mmseg's config names do; a longer schedule in epochs.
    """
    if 'Epochs' in metadata:
        epochs = metadata['Epochs']
        return (f'{epochs // 12}x'
                if epochs % 12 == 0 and epochs <= 36 else f'{epochs}e')
    if 'Iterations' in metadata:
        iterations = metadata['Iterations']
        return (f'{iterations // 1000}k'
                if iterations % 1000 == 0 else str(iterations))
    return MISSING


def family_models(
        family: Family,
        zoo: Mapping[str, ZooModel]) -> Iterator[Tuple[str, ZooModel]]:
    """(backbone key, model) of each config of ``family`` in the zoo."""
    for backbone in BACKBONES:
        name = osp.basename(family.config_name(backbone))
        if name in zoo:
            yield backbone, zoo[name]


def _metric_cells(model: ZooModel, names: Sequence[str]) -> List[str]:
    values = model.results.metrics if model.results else {}
    return [str(values.get(name, MISSING)) for name in names]


def _source_cell(model: ZooModel) -> str:
    if model.results is None:
        return NO_RESULTS
    return SOURCE_LABELS[model.results.source]


def _config_path(model: ZooModel) -> str:
    """The config as a link from ``configs/README.md``."""
    return osp.relpath(model.config, CONFIG_DIR)


def _config_cell(model: ZooModel) -> str:
    return f'[config]({_config_path(model)})'


def _download_cell(model: ZooModel) -> str:
    if model.weights:
        return f'[model]({model.weights})'
    if model.results is not None and model.results.source == PAPER:
        cell = f"[authors' release]({RLA_RELEASE_URL})"
        checkpoint = model.metadata.get("Authors' checkpoint")
        return cell + (f' (`{checkpoint}`)' if checkpoint else '')
    return MISSING


# Metric columns of the tables: metric names of the metafile.
DETECTION_COLUMNS = ('box AP', 'AP50', 'AP75', 'mask AP')
SEGMENTATION_COLUMNS = ('mIoU', 'mIoU(ms+flip)', 'mAcc', 'aAcc')
CLASSIFICATION_COLUMNS = ('top-1', 'top-5')


def detection_tables(zoo: Mapping[str, ZooModel]) -> str:
    """One table per detector, then the paper's RLA against mmdet's ResNet.
    """
    lines: List[str] = []
    header = (['Backbone', 'Lr schd', 'Mem (GB)'] +
              list(DETECTION_COLUMNS) +
              ['Results', 'Config', 'Download'])
    for family in DETECTORS.values():
        rows = [[
            BACKBONES[backbone].name,
            schedule(model.metadata),
            str(model.metadata.get('Training Memory (GB)', MISSING)),
            *_metric_cells(model, DETECTION_COLUMNS),
            _source_cell(model),
            _config_cell(model),
            _download_cell(model),
        ] for backbone, model in family_models(family, zoo)]
        lines += [f'#### {family.title}', ''] + markdown_table(
            header, rows, 'l' + 'c' * (len(header) - 3) + 'll') + ['']
    return '\n'.join(lines + differences_table(zoo))


def _box_ap(model: Optional[ZooModel], source: str) -> Optional[float]:
    if model is None or model.results is None or (model.results.source
                                                   != source):
        return None
    return model.results.metrics.get('box AP')


def differences_table(zoo: Mapping[str, ZooModel]) -> List[str]:
    """The paper's RLA box AP minus mmdet's baseline of the same depth.

    Followed by the range of these differences for ECA-RLA and plain RLA.
    """
    rows, ranges = [], {'ECA-RLA': [], 'RLA': []}
    for family in DETECTORS.values():
        models = dict(family_models(family, zoo))
        for key, backbone in BACKBONES.items():
            if backbone.baseline is None:
                continue
            paper = _box_ap(models.get(key), PAPER)
            mmdet = _box_ap(models.get(backbone.baseline), MMDET)
            if paper is None or mmdet is None:
                continue
            difference = round(paper - mmdet, 1)
            ranges['ECA-RLA' if key.startswith('eca_') else 'RLA'].append(
                difference)
            rows.append([
                family.title,
                f'{backbone.name} vs {BACKBONES[backbone.baseline].name}',
                str(paper), str(mmdet), f'{difference:+.1f}'
            ])
    lines = ['#### What the differences compare', ''] + markdown_table(
        ['Detector', 'Backbone', 'box AP, paper', 'box AP, mmdet ResNet',
         'difference'], rows, 'llccc')
    spans = [f'{kind} {min(d):+.1f} to {max(d):+.1f}'
             for kind, d in ranges.items() if d]
    if spans:
        lines += ['', "Against mmdet's ResNet of the same depth, the paper's "
                  f"models differ by: {', '.join(spans)} box AP."]
    return lines + ['']


def segmentation_tables(zoo: Mapping[str, ZooModel]) -> str:
    """Our segmentation models, then the context numbers mmseg publishes."""
    header = (['Segmentor', 'Backbone', 'Lr schd'] +
              list(SEGMENTATION_COLUMNS) + ['Results', 'Config', 'Download'])
    rows, context = [], []
    for family in SEGMENTORS.values():
        for backbone, model in family_models(family, zoo):
            rows.append([
                family.title, BACKBONES[backbone].name,
                schedule(model.metadata),
                *_metric_cells(model, SEGMENTATION_COLUMNS),
                _source_cell(model), _config_cell(model),
                _download_cell(model)
            ])
            context += [(family, model, c) for c in model.context]
    lines = ['#### Our segmentation configs', ''] + markdown_table(
        header, rows, 'll' + 'c' * (len(header) - 4) + 'll') + ['']
    names: List[str] = []
    for _, _, results in context:
        names += [n for n in results.metrics if n not in names]
    context_rows = [[
        family.title, f'[{model.name}]({_config_path(model)})',
        f'`{results.source_model}`', results.backbone or MISSING,
        *[str(results.metrics.get(n, MISSING)) for n in names]
    ] for family, model, results in context]
    lines += ['#### What MMSegmentation publishes (context only)', ''
              ] + markdown_table(
                  ['Segmentor', 'Our baseline', 'mmseg model',
                   'mmseg backbone'] + names, context_rows,
                  'llll' + 'c' * len(names))
    return '\n'.join(lines + [''])


def classification_tables(zoo: Mapping[str, ZooModel]) -> str:
    """The ImageNet classifiers, then what MMPretrain publishes for its own
    ResNet configs (context: another schedule and resize)."""
    header = (['Backbone', 'Epochs'] + list(CLASSIFICATION_COLUMNS) +
              ['Results', 'Config', 'Download'])
    rows, context = [], []
    for family in CLASSIFIERS.values():
        for backbone, model in family_models(family, zoo):
            rows.append([
                BACKBONES[backbone].name,
                str(model.metadata.get('Epochs', MISSING)),
                *_metric_cells(model, CLASSIFICATION_COLUMNS),
                _source_cell(model), _config_cell(model),
                _download_cell(model)
            ])
            context += [(model, c) for c in model.context]
    lines = markdown_table(header, rows, 'lccclll') + ['']
    context_rows = [[
        f'[{model.name}]({_config_path(model)})',
        f'`{results.source_model}`', results.backbone or MISSING,
        *[str(results.metrics.get(n, MISSING))
          for n in CLASSIFICATION_COLUMNS]
    ] for model, results in context]
    lines += ['#### What MMPretrain publishes (context only)', ''
              ] + markdown_table(
                  ['Our baseline', 'mmpretrain model', 'its training'] +
                  list(CLASSIFICATION_COLUMNS), context_rows, 'lllcc')
    return '\n'.join(lines + [''])


def pairs_table(zoo: Mapping[str, ZooModel]) -> str:
    """Each baseline config beside its RLA twins, one row per depth."""
    columns = {'': 'ResNet (baseline)', 'rla_': 'RLA-ResNet',
               'eca_rla_': 'ECA-RLA-ResNet'}
    rows = []
    for family in (*DETECTORS.values(), *SEGMENTORS.values(),
                   *CLASSIFIERS.values()):
        models = dict(family_models(family, zoo))
        for key, backbone in BACKBONES.items():
            if backbone.baseline is None and key in models:
                rows.append([f'{family.title}, {backbone.name}'] + [
                    f'`{_config_path(models[prefix + key])}`'
                    if prefix + key in models else MISSING
                    for prefix in columns
                ])
    return '\n'.join(
        markdown_table(['Model'] + list(columns.values()), rows, 'llll') +
        [''])


def generated_blocks(zoo: Mapping[str, ZooModel]) -> Dict[str, str]:
    """The README's generated blocks, by name.

    Raises:
        ValueError: If a zoo model belongs to no detector, segmentor or
            classifier of :mod:`.catalog`, and so would be missing from the
            tables.
    """
    listed = {
        model.name
        for family in (*DETECTORS.values(), *SEGMENTORS.values(),
                       *CLASSIFIERS.values())
        for _, model in family_models(family, zoo)
    }
    unlisted = sorted(set(zoo) - listed)
    if unlisted:
        raise ValueError(
            f'metafile models in no table: {unlisted}. Name their configs '
            '<family stem with the backbone>.py after a family and a '
            'backbone of rla_lab/paper/catalog.py, or add the family there.')
    return dict(
        pairs=pairs_table(zoo),
        classification=classification_tables(zoo),
        detection=detection_tables(zoo),
        segmentation=segmentation_tables(zoo))


def render(readme: str, blocks: Mapping[str, str]) -> str:
    """``readme`` with each generated block's content replaced.

    Raises:
        ValueError: If the README lacks a block of ``blocks``, or has one
            that ``blocks`` does not make.
    """
    found = [m.group('name') for m in _BLOCK.finditer(readme)]
    if sorted(found) != sorted(blocks):
        raise ValueError(
            f'the README has the generated blocks {sorted(found)}, the '
            f'generator makes {sorted(blocks)}: add or remove the '
            '"<!-- BEGIN GENERATED: name -->" / "<!-- END GENERATED: name '
            '-->" lines to match.')
    return _BLOCK.sub(
        lambda m: m.group(1) + blocks[m.group('name')] + m.group(4), readme)
