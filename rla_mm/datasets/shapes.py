"""A synthetic COCO-format instance-segmentation dataset of rendered shapes.

The demo trains a detector in minutes on a CPU, offline, so it needs data
that is small, quick to learn and still a real instance-segmentation task:
circles, triangles, squares and stars of varied sizes, rotations and colours,
partly occluding each other, on textured and noisy backgrounds.

Every shape is a polygon (a circle is a 48-gon), so its annotation is exact.
Shapes are painted in order, and a later shape hides the part of an earlier
one below it: the earlier one's annotation is its *visible* region, computed
exactly by polygon clipping. Each shape is cut into convex parts (a star into
its inner pentagon and five tips), and subtracting a convex occluder from a
convex part leaves disjoint convex pieces, so the visible region of a shape
is a list of disjoint convex polygons: its COCO ``segmentation``, whose union
is the mask and whose summed area is ``area``. A shape that nothing covers
keeps its single outline polygon. A new shape is only placed if every shape
under it keeps at least ``min_visible`` of its area, so no annotation is a
sliver that no one could see.

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

CATEGORIES: Tuple[str, ...] = ('circle', 'triangle', 'square', 'star')
SPLITS: Tuple[str, ...] = ('train', 'val')
CIRCLE_VERTICES = 48
# Radius of a star's inner vertices relative to its outer ones.
STAR_INNER_RATIO = 0.45
# Convex pieces smaller than this (in pixels^2) are rounding noise.
MIN_PIECE_AREA = 0.25
# Minimum RGB distance of a shape's colour to the background and to shapes
# it may overlap, so that every visible boundary can be seen.
MIN_COLOUR_DISTANCE = 80.0
PLACEMENT_TRIES = 20
# Recorded in the annotation files; bump it when a change here changes the
# files, so that datasets written before are rewritten instead of reused.
GENERATOR_VERSION = 1
# Sub-pixel samples per axis used to anti-alias the painted shapes.
PAINT_SUPERSAMPLE = 3

Polygon = np.ndarray  # (K, 2) float64 vertices (x, y), counter-clockwise


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
        min_visible (float): Fraction of its area every shape keeps visible,
            in (0, 1].
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
        category (int): Index into ``CATEGORIES``.
        outline (Polygon): The full outline.
        parts (list[Polygon]): Disjoint convex parts covering the outline.
        colour (tuple[float, float, float]): RGB fill.
        visible (list[Polygon]): Disjoint convex pieces left visible.
        occluded (bool): Whether a later shape covers part of it.
    """
    category: int
    outline: Polygon
    parts: List[Polygon]
    colour: Tuple[float, float, float]
    visible: List[Polygon]
    occluded: bool = False


# --------------------------------------------------------------- geometry --
def polygon_area(polygon: Polygon) -> float:
    """Signed area (shoelace); positive for counter-clockwise vertices."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def regular_polygon(center: Sequence[float], radius: float, num: int,
                    angle: float) -> Polygon:
    """``num`` vertices on a circle, counter-clockwise from ``angle``."""
    theta = angle + 2 * np.pi * np.arange(num) / num
    return np.stack([center[0] + radius * np.cos(theta),
                     center[1] + radius * np.sin(theta)], axis=1)


def shape_geometry(category: str, center: Sequence[float], radius: float,
                   angle: float) -> Tuple[Polygon, List[Polygon]]:
    """Outline of a shape and its convex parts.

    Args:
        category (str): One of ``CATEGORIES``.
        center (Sequence[float]): (x, y) of the centre.
        radius (float): Circumradius.
        angle (float): Rotation in radians.

    Returns:
        tuple[Polygon, list[Polygon]]: The outline and disjoint convex parts
        whose union is the outline.
    """
    if category == 'star':
        outer = regular_polygon(center, radius, 5, angle)
        inner = regular_polygon(center, radius * STAR_INNER_RATIO, 5,
                                angle + np.pi / 5)
        outline = np.stack([outer, inner], axis=1).reshape(-1, 2)
        tips = [np.stack([inner[i - 1], outer[i], inner[i]]) for i in range(5)]
        return outline, [inner] + tips
    num = {'circle': CIRCLE_VERTICES, 'triangle': 3, 'square': 4}
    if category not in num:
        raise ValueError(f'unknown shape {category!r}; choose from '
                         f'{CATEGORIES}.')
    outline = regular_polygon(center, radius, num[category], angle)
    return outline, [outline]


def clip_half_plane(polygon: Polygon, start: np.ndarray, end: np.ndarray,
                    keep_left: bool) -> Polygon:
    """Clip a convex polygon to one side of the line through start and end.

    Returns:
        Polygon: The part on the left of ``start -> end`` (the inside of a
        counter-clockwise polygon's edge) if ``keep_left``, else the part on
        the right; (0, 2) if empty.
    """
    direction = end - start
    side = (direction[0] * (polygon[:, 1] - start[1]) -
            direction[1] * (polygon[:, 0] - start[0]))
    if not keep_left:
        side = -side
    inside = side >= 0
    if inside.all():
        return polygon
    out = []
    for i in range(len(polygon)):
        j = (i + 1) % len(polygon)
        if inside[i]:
            out.append(polygon[i])
        if inside[i] != inside[j]:
            t = side[i] / (side[i] - side[j])
            out.append(polygon[i] + t * (polygon[j] - polygon[i]))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _boxes_overlap(a: Polygon, b: Polygon) -> bool:
    return bool((a.min(0) < b.max(0)).all() and (b.min(0) < a.max(0)).all())


def subtract_convex(piece: Polygon, occluder: Polygon) -> List[Polygon]:
    """``piece`` minus ``occluder`` (both convex) as disjoint convex pieces.

    A point of ``piece`` outside ``occluder`` lies outside some edge of it;
    the ``k``-th returned piece holds the points outside edge ``k`` and
    inside every earlier edge, so the pieces are disjoint.
    """
    if not _boxes_overlap(piece, occluder):
        return [piece]
    overlap = piece
    for k in range(len(occluder)):
        overlap = clip_half_plane(overlap, occluder[k],
                                  occluder[(k + 1) % len(occluder)], True)
        if len(overlap) < 3:
            return [piece]
    if polygon_area(overlap) <= MIN_PIECE_AREA:
        return [piece]
    pieces = []
    remaining = piece
    for k in range(len(occluder)):
        start, end = occluder[k], occluder[(k + 1) % len(occluder)]
        outside = clip_half_plane(remaining, start, end, keep_left=False)
        if len(outside) >= 3 and polygon_area(outside) > MIN_PIECE_AREA:
            pieces.append(outside)
        remaining = clip_half_plane(remaining, start, end, keep_left=True)
        if len(remaining) < 3:
            break
    return pieces


def subtract_shape(pieces: List[Polygon],
                   occluder_parts: List[Polygon]) -> List[Polygon]:
    """Disjoint convex ``pieces`` minus the union of convex occluder parts."""
    for part in occluder_parts:
        pieces = [p for piece in pieces for p in subtract_convex(piece, part)]
    return pieces


def pieces_area(pieces: List[Polygon]) -> float:
    """Total area of disjoint polygons."""
    return sum(abs(polygon_area(p)) for p in pieces)


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


def _coverage_window(parts: List[Polygon], size: int, supersample: int
                     ) -> Tuple[Tuple[slice, slice], np.ndarray]:
    """Coverage of ``parts`` inside their bounding window of the image."""
    points = np.concatenate(parts)
    x0, y0 = np.clip(np.floor(points.min(0)).astype(int), 0, size)
    x1, y1 = np.clip(np.ceil(points.max(0)).astype(int), 0, size)
    offsets = (np.arange(supersample) + 0.5) / supersample
    xs = (np.arange(x0, x1)[:, None] + offsets).reshape(1, -1)
    ys = (np.arange(y0, y1)[:, None] + offsets).reshape(-1, 1)
    covered = np.zeros((ys.size, xs.size), bool)
    for part in parts:
        inside = np.ones_like(covered)
        for start, end in zip(part, np.roll(part, -1, axis=0)):
            inside &= ((end[0] - start[0]) * (ys - start[1]) -
                       (end[1] - start[1]) * (xs - start[0])) >= 0
        covered |= inside
    covered = covered.reshape(y1 - y0, supersample, x1 - x0, supersample)
    return (slice(y0, y1), slice(x0, x1)), covered.mean((1, 3))


def coverage(parts: List[Polygon], size: int,
             supersample: int = 1) -> np.ndarray:
    """Fraction of each pixel covered by the union of convex ``parts``.

    Pixel ``(i, j)`` spans ``[i, i+1) x [j, j+1)`` as in COCO, and is
    sampled on a ``supersample`` x ``supersample`` grid of sub-pixel
    centres. With ``supersample=1`` this is the pixel-centre test that
    pycocotools uses to decode polygons.

    Returns:
        np.ndarray: (size, size) float32 in [0, 1].
    """
    result = np.zeros((size, size), np.float32)
    if parts:
        window, patch = _coverage_window(parts, size, supersample)
        result[window] = patch
    return result


def paint(image: np.ndarray, parts: List[Polygon],
          colour: Sequence[float]) -> None:
    """Blend ``colour`` over ``image`` (float RGB) where ``parts`` lie,
    anti-aliased."""
    window, alpha = _coverage_window(parts, image.shape[0], PAINT_SUPERSAMPLE)
    alpha = alpha[..., None].astype(np.float32)
    image[window] = (image[window] * (1 - alpha) +
                     alpha * np.asarray(colour, np.float32))


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
                  background_colour: np.ndarray) -> List[Shape]:
    """Place shapes one over the other, keeping each one visible enough.

    Returns:
        list[Shape]: In painting order, each with its visible pieces.
    """
    size = cfg.image_size
    target = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    shapes: List[Shape] = []
    for _ in range(target):
        for _ in range(PLACEMENT_TRIES):
            category = int(rng.integers(len(CATEGORIES)))
            radius = rng.uniform(cfg.min_radius, cfg.max_radius) * size
            center = rng.uniform(radius, size - radius, size=2)
            outline, parts = shape_geometry(CATEGORIES[category], center,
                                            radius, rng.uniform(0, 2 * np.pi))
            covered = [subtract_shape(s.visible, parts) for s in shapes]
            if all(
                    pieces_area(c) >= cfg.min_visible * pieces_area(s.parts)
                    for c, s in zip(covered, shapes)):
                break
        else:
            break  # The image is too crowded for another shape.
        hidden = [
            pieces_area(s.visible) - pieces_area(c) > MIN_PIECE_AREA
            for s, c in zip(shapes, covered)
        ]
        under = [np.array(s.colour) for s, h in zip(shapes, hidden) if h]
        colour = _sample_colour(rng, [background_colour] + under)
        for shape, pieces, is_hidden in zip(shapes, covered, hidden):
            if is_hidden:
                shape.visible, shape.occluded = pieces, True
        shapes.append(Shape(category, outline, parts, colour, list(parts)))
    return shapes


def render_image(rng: np.random.Generator,
                 cfg: ShapesConfig) -> Tuple[np.ndarray, List[Shape]]:
    """Draw one image and its shapes.

    Returns:
        tuple[np.ndarray, list[Shape]]: (size, size, 3) uint8 RGB image and
        its shapes in painting order.
    """
    image = render_background(rng, cfg.image_size)
    shapes = sample_shapes(rng, cfg, image.reshape(-1, 3).mean(0))
    for shape in shapes:
        paint(image, shape.parts, shape.colour)
    image += rng.normal(0, cfg.noise_std, size=image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8), shapes


def _flat(polygon: Polygon) -> List[float]:
    return [round(float(v), 2) for v in polygon.reshape(-1)]


def shape_annotation(shape: Shape) -> dict:
    """COCO fields of a shape's visible region (no ids).

    An unoccluded shape is its outline; an occluded one is the list of its
    disjoint convex visible pieces.
    """
    polygons = shape.visible if shape.occluded else [shape.outline]
    points = np.concatenate(polygons)
    x0, y0 = points.min(0)
    x1, y1 = points.max(0)
    return dict(
        category_id=shape.category + 1,
        segmentation=[_flat(p) for p in polygons],
        area=round(pieces_area(shape.visible), 2),
        bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
        iscrowd=0)


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``, independent of others."""
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
    if split not in SPLITS:
        raise ValueError(f'unknown split {split!r}; choose from {SPLITS}.')
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
                  generator=asdict(cfg),
                  generator_version=GENERATOR_VERSION),
        images=image_infos,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=name, supercategory='shape')
            for i, name in enumerate(CATEGORIES)
        ])
    return images, coco


def annotation_path(root: str, split: str) -> str:
    """Path of a split's annotation file under the dataset root."""
    return osp.join(root, 'annotations', f'instances_{split}.json')


def write_dataset(root: str, cfg: ShapesConfig) -> None:
    """Write ``{train,val}/*.png`` and ``annotations/instances_*.json``."""
    for split in SPLITS:
        ann_file = Path(annotation_path(root, split))
        ann_file.unlink(missing_ok=True)
        images, coco = build_split(cfg, split)
        image_dir = Path(root, split)
        image_dir.mkdir(parents=True, exist_ok=True)
        for stale in image_dir.glob('*.png'):
            stale.unlink()
        for image, info in zip(images, coco['images']):
            cv2.imwrite(str(image_dir / info['file_name']),
                        cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        # Annotations last: their presence marks a complete split.
        ann_file.parent.mkdir(parents=True, exist_ok=True)
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
                osp.isfile(osp.join(root, split, image['file_name']))
                for image in coco['images']):
            return None
        configs.append(params)
    if configs[0] != configs[1]:
        return None
    try:
        return ShapesConfig(**configs[0])
    except (TypeError, ValueError):
        return None


def ensure_dataset(root: str, cfg: ShapesConfig, force: bool = False) -> bool:
    """Write the dataset unless ``root`` already holds it with ``cfg``.

    Args:
        root (str): Dataset root.
        cfg (ShapesConfig): Dataset parameters.
        force (bool): Rewrite even if ``root`` holds the same dataset.

    Returns:
        bool: Whether the dataset was (re)written.
    """
    if not force and read_generator_config(root) == cfg:
        return False
    write_dataset(root, cfg)
    return True
