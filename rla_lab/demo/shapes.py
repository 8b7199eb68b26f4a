"""A synthetic dataset of rendered shapes for instance and semantic
segmentation.

The demos train a detector and a segmentor in minutes on a CPU, offline, so
they need data that is small, quick to learn and still a real task: circles,
triangles, squares and stars of varied sizes, rotations and colours, partly
occluding each other, on textured and noisy backgrounds. The
classification demo (:mod:`.shapes_cls`) draws one shape per image from
these four and the six of ``EXTRA_SHAPES``.

Every shape is a polygon (a circle is a 48-gon), rasterised by pycocotools,
the rasteriser COCO evaluation uses, so the annotations are exact at the
pixel level. Shapes are painted in order and a later shape hides the pixels
of the earlier ones below it: each shape's annotation is its *visible* mask,
stored as COCO RLE, from which ``area`` and ``bbox`` are computed. A new
shape is only placed if every shape under it keeps at least ``min_visible``
of its pixels, so no annotation is a sliver that no one could see.

Each split is written twice over the same images: as COCO instances
(``annotations/instances_{split}.json``) for mmdet's ``CocoDataset``, and as
label maps in mmseg's format (``annotations/semantic_{split}/*.png``, one
uint8 class index per pixel, 0 the background, the others ``SEG_CLASSES``)
for mmseg's ``BaseSegDataset``. A label map is its image's visible masks
painted with their category ids, so the two annotations always agree.

Images are independent: image ``i`` of a split is drawn from a generator
seeded by ``(seed, split, i)``, so a smaller dataset is a prefix of a larger
one with the same seed, and the same parameters give identical files.
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils

CATEGORIES: Tuple[str, ...] = ('circle', 'triangle', 'square', 'star')
# The classes of the label maps: a pixel's value is its index here, which is
# also the COCO category id of the shape seen there.
SEG_CLASSES: Tuple[str, ...] = ('background', ) + CATEGORIES
SPLITS: Tuple[str, ...] = ('train', 'val')
CIRCLE_VERTICES = 48
# Radius of a star's inner vertices relative to its outer ones.
STAR_INNER_RATIO = 0.45
# Minimum RGB distance of a shape's colour to the background and to shapes
# it may overlap, so that every visible boundary can be seen.
MIN_COLOUR_DISTANCE = 80.0
PLACEMENT_TRIES = 20
# Recorded in the annotation files; bump it when a change here changes the
# files, so that datasets written before are rewritten instead of reused.
GENERATOR_VERSION = 2
# Sub-pixels per axis used to anti-alias the painted shapes; odd, so that
# the pixel centre, where the annotation samples, is one of them.
PAINT_SUPERSAMPLE = 3

Polygon = np.ndarray  # (K, 2) float64 vertices (x, y)


@dataclass(frozen=True)
class ShapesConfig:
    """Parameters of the dataset; equal configs give identical files.

    Args:
        num_train (int): Images in the train split.
        num_val (int): Images in the val split.
        image_size (int): Width and height of the square images.
        min_objects (int): Fewest shapes an image tries to hold.
        max_objects (int): Most shapes in an image.
        min_radius (float): Smallest circumradius, as a fraction of
            ``image_size``.
        max_radius (float): Largest circumradius, as a fraction of
            ``image_size``.
        min_visible (float): Fraction of its pixels every shape keeps
            visible, in (0, 1].
        noise_std (float): Standard deviation of the pixel noise (0-255).
        seed (int): Seed of the whole dataset.
    """
    num_train: int = 400
    num_val: int = 50
    image_size: int = 256
    min_objects: int = 1
    max_objects: int = 4
    min_radius: float = 0.1
    max_radius: float = 0.25
    min_visible: float = 0.5
    noise_std: float = 6.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_train < 1 or self.num_val < 1:
            raise ValueError('num_train and num_val must be >= 1, got '
                             f'{self.num_train} and {self.num_val}.')
        if self.image_size < 32:
            raise ValueError(f'image_size must be >= 32 (mmdet drops smaller '
                             f'images), got {self.image_size}.')
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError('need 1 <= min_objects <= max_objects, got '
                             f'{self.min_objects} and {self.max_objects}.')
        if not 0 < self.min_radius <= self.max_radius <= 0.5:
            raise ValueError('need 0 < min_radius <= max_radius <= 0.5, got '
                             f'{self.min_radius} and {self.max_radius}.')
        if not 0 < self.min_visible <= 1:
            raise ValueError(
                f'min_visible must be in (0, 1] (every annotated shape needs '
                f'a visible part), got {self.min_visible}.')


@dataclass
class Shape:
    """One painted shape.

    Attributes:
        category (int): Index into the categories it was drawn from
            (``CATEGORIES`` unless ``sample_shapes`` was given others).
        outline (Polygon): The outline.
        colour (tuple[float, float, float]): RGB fill.
        mask (np.ndarray): (size, size) bool, the pixels of the outline.
        visible (np.ndarray): (size, size) bool, the part of ``mask`` that
            no later shape covers.
    """
    category: int
    outline: Polygon
    colour: Tuple[float, float, float]
    mask: np.ndarray
    visible: np.ndarray


# --------------------------------------------------------------- geometry --
def regular_polygon(center: Sequence[float], radius: float, num: int,
                    angle: float) -> Polygon:
    """``num`` vertices on a circle, counter-clockwise from ``angle``."""
    theta = angle + 2 * np.pi * np.arange(num) / num
    return np.stack([center[0] + radius * np.cos(theta),
                     center[1] + radius * np.sin(theta)], axis=1)


def _unit_outline(vertices: Sequence[Sequence[float]]) -> Polygon:
    """``vertices`` scaled so that the farthest is 1 from the origin."""
    outline = np.asarray(vertices, np.float64)
    return outline / np.linalg.norm(outline, axis=1).max()


def _arc(center_x: float, radius: float, start: float, stop: float,
         num: int) -> Polygon:
    """``num`` points of a circle around (center_x, 0), start to stop."""
    theta = np.linspace(start, stop, num)
    return np.stack([center_x + radius * np.cos(theta),
                     radius * np.sin(theta)], axis=1)


def _crescent() -> Polygon:
    """The unit disc minus a disc of radius 0.8 shifted right by 0.45."""
    inner_radius, shift = 0.8, 0.45
    # Where the two circles meet: x, then its angle on each circle.
    x = (1 - inner_radius**2 + shift**2) / (2 * shift)
    y = np.sqrt(1 - x**2)
    outer = np.arctan2(y, x)
    inner = np.arctan2(y, x - shift)
    return np.concatenate([
        _arc(0, 1, outer, 2 * np.pi - outer, 32),
        _arc(shift, inner_radius, 2 * np.pi - inner, inner, 24)[1:-1]
    ])


def _heart() -> Polygon:
    theta = np.linspace(0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False)
    x = 16 * np.sin(theta)**3
    y = 13 * np.cos(theta) - 5 * np.cos(2 * theta) - 2 * np.cos(
        3 * theta) - np.cos(4 * theta)
    outline = np.stack([x, y], axis=1)
    # Centred on its bounding box, so that it fits in its circumradius.
    return outline - (outline.max(0) + outline.min(0)) / 2


# Shapes of the classification demo besides CATEGORIES: unit outlines,
# centred, their farthest vertex at 1 (a circumradius of 1).
EXTRA_SHAPES: Dict[str, Polygon] = {
    'arrow': _unit_outline([(-1, -0.2), (0.1, -0.2), (0.1, -0.55), (1, 0),
                            (0.1, 0.55), (0.1, 0.2), (-1, 0.2)]),
    'crescent': _unit_outline(_crescent()),
    'cross': _unit_outline([(1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1),
                            (-0.3, 1), (-0.3, 0.3), (-1, 0.3), (-1, -0.3),
                            (-0.3, -0.3), (-0.3, -1), (0.3, -1),
                            (0.3, -0.3)]),
    'heart': _unit_outline(_heart()),
    'rectangle': _unit_outline([(1, 0.5), (-1, 0.5), (-1, -0.5), (1, -0.5)]),
    'semicircle': _unit_outline(_arc(0, 1, 0, np.pi, CIRCLE_VERTICES // 2)),
}
SHAPE_KINDS: Tuple[str, ...] = CATEGORIES + tuple(EXTRA_SHAPES)


def shape_geometry(category: str, center: Sequence[float], radius: float,
                   angle: float) -> Polygon:
    """Outline of a shape.

    Args:
        category (str): One of ``SHAPE_KINDS``: ``CATEGORIES`` or a name of
            ``EXTRA_SHAPES``.
        center (Sequence[float]): (x, y) of the centre.
        radius (float): Circumradius.
        angle (float): Rotation in radians.

    Returns:
        Polygon: The outline, a simple polygon.
    """
    if category == 'star':
        outer = regular_polygon(center, radius, 5, angle)
        inner = regular_polygon(center, radius * STAR_INNER_RATIO, 5,
                                angle + np.pi / 5)
        return np.stack([outer, inner], axis=1).reshape(-1, 2)
    if category in EXTRA_SHAPES:
        cos, sin = np.cos(angle), np.sin(angle)
        rotation = np.array([[cos, sin], [-sin, cos]])
        return np.asarray(center) + radius * EXTRA_SHAPES[category] @ rotation
    num = {'circle': CIRCLE_VERTICES, 'triangle': 3, 'square': 4}
    if category not in num:
        raise ValueError(f'unknown shape {category!r}; choose from '
                         f'{SHAPE_KINDS}.')
    return regular_polygon(center, radius, num[category], angle)


def rasterize(polygon: Polygon, size: int) -> np.ndarray:
    """The pixels of a (size, size) image inside ``polygon``, as COCO
    evaluation decodes a polygon annotation (pixel ``(i, j)`` spans
    ``[j, j+1) x [i, i+1)``).

    Returns:
        np.ndarray: (size, size) bool.
    """
    rles = mask_utils.frPyObjects([polygon.ravel().tolist()], size, size)
    return mask_utils.decode(rles)[..., 0].astype(bool)


# -------------------------------------------------------------- rendering --
def render_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A muted background: colour gradient, blotchy texture and lines.

    Returns:
        np.ndarray: (size, size, 3) float32 RGB in [0, 255].
    """
    base = rng.uniform(60, 190, size=3)
    # Low saturation keeps the saturated shapes the most salient things.
    base = base.mean() + 0.4 * (base - base.mean())
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    gradient = (rng.uniform(-30, 30, size=(1, 1, 3)) * (xx - 0.5)[..., None] +
                rng.uniform(-30, 30, size=(1, 1, 3)) * (yy - 0.5)[..., None])
    texture = np.zeros((size, size, 3), np.float32)
    for cells, strength in ((4, 18.0), (16, 10.0)):
        grid = rng.normal(0, strength, size=(cells, cells, 3))
        texture += cv2.resize(grid.astype(np.float32), (size, size),
                              interpolation=cv2.INTER_CUBIC)
    image = np.clip(base + gradient + texture, 0, 255).astype(np.float32)
    for _ in range(rng.integers(2, 6)):
        start, end = rng.uniform(0, size, size=(2, 2))
        colour = np.clip(base + rng.normal(0, 25, size=3), 0, 255)
        cv2.line(image, tuple(int(v) for v in start),
                 tuple(int(v) for v in end), colour.tolist(),
                 int(rng.integers(1, 3)), lineType=cv2.LINE_AA)
    return image


def paint_alpha(polygon: Polygon, size: int) -> np.ndarray:
    """Fraction of each pixel's sub-pixels inside ``polygon``.

    Returns:
        np.ndarray: (size, size) float32 in [0, 1].
    """
    fine = rasterize(polygon * PAINT_SUPERSAMPLE, size * PAINT_SUPERSAMPLE)
    # INTER_AREA at an integer factor is the exact mean of each block.
    return cv2.resize(fine.astype(np.float32), (size, size),
                      interpolation=cv2.INTER_AREA)


def paint(image: np.ndarray, polygon: Polygon,
          colour: Sequence[float]) -> None:
    """Blend ``colour`` over ``image`` (float RGB) inside ``polygon``,
    anti-aliased."""
    alpha = paint_alpha(polygon, image.shape[0])[..., None]
    image *= 1 - alpha
    image += alpha * np.asarray(colour, np.float32)


# --------------------------------------------------------------- sampling --
def _sample_colour(rng: np.random.Generator, avoid: List[np.ndarray]
                   ) -> Tuple[float, float, float]:
    """A saturated colour far from every colour in ``avoid``."""
    for _ in range(100):
        hsv = np.array([[[rng.integers(0, 180), rng.integers(150, 256),
                          rng.integers(120, 256)]]], np.uint8)
        rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)
        if all(np.linalg.norm(rgb - c) >= MIN_COLOUR_DISTANCE for c in avoid):
            break
    return tuple(float(v) for v in rgb)


def sample_shapes(rng: np.random.Generator, cfg: ShapesConfig,
                  background_colour: np.ndarray,
                  categories: Sequence[str] = CATEGORIES) -> List[Shape]:
    """Place shapes one over the other, keeping each one visible enough.

    Args:
        rng (np.random.Generator): The image's generator.
        cfg (ShapesConfig): Dataset parameters.
        background_colour (np.ndarray): Mean RGB of the background.
        categories (Sequence[str]): The shapes to draw from, each of
            ``SHAPE_KINDS``; a shape's ``category`` indexes into it.

    Returns:
        list[Shape]: In painting order, each with its visible mask.
    """
    size = cfg.image_size
    target = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    shapes: List[Shape] = []
    for _ in range(target):
        for _ in range(PLACEMENT_TRIES):
            category = int(rng.integers(len(categories)))
            radius = rng.uniform(cfg.min_radius, cfg.max_radius) * size
            center = rng.uniform(radius, size - radius, size=2)
            outline = shape_geometry(categories[category], center, radius,
                                     rng.uniform(0, 2 * np.pi))
            mask = rasterize(outline, size)
            left = [s.visible & ~mask for s in shapes]
            if all(v.sum() >= cfg.min_visible * s.mask.sum()
                   for v, s in zip(left, shapes)):
                break
        else:
            break  # The image is too crowded for another shape.
        under = [
            np.array(s.colour) for s in shapes if (s.visible & mask).any()
        ]
        colour = _sample_colour(rng, [background_colour] + under)
        for shape, visible in zip(shapes, left):
            shape.visible = visible
        shapes.append(Shape(category, outline, colour, mask, mask.copy()))
    return shapes


def render_image(rng: np.random.Generator, cfg: ShapesConfig,
                 categories: Sequence[str] = CATEGORIES
                 ) -> Tuple[np.ndarray, List[Shape]]:
    """Draw one image and its shapes, of ``categories`` (see
    ``sample_shapes``).

    Returns:
        tuple[np.ndarray, list[Shape]]: (size, size, 3) uint8 RGB image and
        its shapes in painting order.
    """
    image = render_background(rng, cfg.image_size)
    shapes = sample_shapes(rng, cfg, image.reshape(-1, 3).mean(0),
                           categories)
    for shape in shapes:
        paint(image, shape.outline, shape.colour)
    image += rng.normal(0, cfg.noise_std, size=image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8), shapes


def shape_annotation(shape: Shape) -> dict:
    """COCO fields of a shape's visible mask (no ids): RLE, area, bbox."""
    rle = mask_utils.encode(np.asfortranarray(shape.visible, np.uint8))
    return dict(
        category_id=shape.category + 1,
        segmentation=dict(
            size=[int(v) for v in rle['size']],
            counts=rle['counts'].decode('ascii')),
        area=float(mask_utils.area(rle)),
        bbox=[float(v) for v in mask_utils.toBbox(rle)],
        iscrowd=0)


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``, independent of others.

    Raises:
        ValueError: If ``split`` is not one of ``SPLITS``.
    """
    if split not in SPLITS:
        raise ValueError(f'unknown split {split!r}; choose from {SPLITS}.')
    return np.random.default_rng([seed, SPLITS.index(split), index])


def build_split(cfg: ShapesConfig, split: str
                ) -> Tuple[List[np.ndarray], Dict]:
    """Render a split.

    Args:
        cfg (ShapesConfig): Dataset parameters.
        split (str): 'train' or 'val'.

    Returns:
        tuple[list[np.ndarray], dict]: RGB images and the COCO dict, whose
        ``file_name`` entries are relative to the split's image folder and
        whose ``info`` records ``cfg`` and ``GENERATOR_VERSION``.
    """
    num_images = cfg.num_train if split == 'train' else cfg.num_val
    images, image_infos, annotations = [], [], []
    for index in range(num_images):
        image, shapes = render_image(image_rng(cfg.seed, split, index), cfg)
        images.append(image)
        image_id = index + 1
        image_infos.append(
            dict(id=image_id, file_name=f'{index:05d}.png',
                 width=cfg.image_size, height=cfg.image_size))
        for shape in shapes:
            annotations.append(
                dict(id=len(annotations) + 1, image_id=image_id,
                     **shape_annotation(shape)))
    coco = dict(
        info=dict(description=f'rla_mm demo shapes, {split} split',
                  **generator_info(cfg)),
        images=image_infos,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(CATEGORIES)
        ])
    return images, coco


def label_maps(coco: Dict) -> List[np.ndarray]:
    """The semantic label map of each image of a COCO dict.

    Args:
        coco (dict): COCO instances whose masks do not overlap, with category
            ids from 1.

    Returns:
        list[np.ndarray]: Per entry of ``coco['images']``, in order, a
        (height, width) uint8 map holding at each pixel the category id of
        the annotation there, 0 where there is none.
    """
    maps = {
        info['id']: np.zeros((info['height'], info['width']), np.uint8)
        for info in coco['images']
    }
    for ann in coco['annotations']:
        mask = mask_utils.decode(ann['segmentation']).astype(bool)
        maps[ann['image_id']][mask] = ann['category_id']
    return [maps[info['id']] for info in coco['images']]


# ------------------------------------------------------------------ files --
def annotation_path(root: str, split: str) -> str:
    """Path of a split's COCO annotation file under the dataset root."""
    return osp.join(root, 'annotations', f'instances_{split}.json')


def seg_map_dir(root: str, split: str) -> str:
    """Folder of a split's label maps under the dataset root; a label map
    has its image's file name."""
    return osp.join(root, 'annotations', f'semantic_{split}')


def generator_info(cfg: ShapesConfig) -> dict:
    """What identifies the dataset drawn with ``cfg``: its parameters and
    the generator's version, as each split's COCO ``info`` records them."""
    return dict(generator=asdict(cfg), generator_version=GENERATOR_VERSION)


def write_dataset(root: str, cfg: ShapesConfig) -> None:
    """Write ``{train,val}/*.png``, their COCO instances
    ``annotations/instances_*.json`` and label maps
    ``annotations/semantic_*/*.png``."""
    for split in SPLITS:
        ann_file = Path(annotation_path(root, split))
        ann_file.unlink(missing_ok=True)
        images, coco = build_split(cfg, split)
        image_dir, map_dir = Path(root, split), Path(seg_map_dir(root, split))
        for folder in (image_dir, map_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob('*.png'):
                stale.unlink()
        for image, label_map, info in zip(images, label_maps(coco),
                                          coco['images']):
            cv2.imwrite(str(image_dir / info['file_name']),
                        cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            cv2.imwrite(str(map_dir / info['file_name']), label_map)
        # Annotations last: their presence marks a complete split.
        with open(ann_file, 'w') as f:
            json.dump(coco, f)


def read_generator_config(root: str) -> Optional[ShapesConfig]:
    """The parameters of a complete dataset under ``root``, else None.

    None too when the dataset was written by another version of this module.
    """
    configs = []
    for split in SPLITS:
        path = annotation_path(root, split)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            coco = json.load(f)
        info = coco.get('info', {})
        params = info.get('generator')
        if (info.get('generator_version') != GENERATOR_VERSION
                or not isinstance(params, dict)):
            return None
        if not all(
                osp.isfile(osp.join(folder, image['file_name']))
                for image in coco['images']
                for folder in (osp.join(root, split),
                               seg_map_dir(root, split))):
            return None
        configs.append(params)
    if configs[0] != configs[1]:
        return None
    try:
        return ShapesConfig(**configs[0])
    except (TypeError, ValueError):
        return None


def background_only_miou(root: str, split: str = 'val') -> float:
    """The mIoU of predicting background everywhere on a split's label maps.

    The floor a trained segmentor must clearly beat: computed as mmseg's
    ``IoUMetric`` computes it (classes absent from both prediction and
    ground truth do not count).

    Args:
        root (str): Dataset root.
        split (str): 'train' or 'val'.

    Returns:
        float: mIoU in percent, as ``IoUMetric`` reports it.
    """
    import torch
    from mmseg.evaluation import IoUMetric

    folder = seg_map_dir(root, split)
    names = sorted(Path(folder).glob('*.png'))
    if not names:
        raise ValueError(f'no label maps in {folder}; write the dataset '
                         'first (tools/misc/make_demo_dataset.py).')
    areas = []
    for name in names:
        label = torch.from_numpy(cv2.imread(str(name), cv2.IMREAD_UNCHANGED))
        areas.append(
            IoUMetric.intersect_and_union(
                torch.zeros_like(label), label, len(SEG_CLASSES),
                ignore_index=255))
    totals = [sum(area) for area in zip(*areas)]
    iou = IoUMetric.total_area_to_metrics(*totals, metrics=['mIoU'])['IoU']
    return float(np.nanmean(iou) * 100)
