"""The OpenMMLab codebases whose configs the tools run: mmdet, mmseg and
mmpretrain.

A config says which one it belongs to by its ``default_scope`` (set by each
codebase's ``default_runtime.py`` and inherited through ``_base_``).
MMDetection is a dependency of rla_mm; MMSegmentation and MMPretrain are
optional, so their configs are checked for them before anything is built.
"""
import copy
import importlib
import os.path as osp
import re
from typing import Dict, List, NamedTuple, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import MODELS, Registry, init_default_scope
from torch import nn

from rla_mm.registry import DISTRIBUTIONS

from .runs import REPO_ROOT

# The tested versions; absent when rla_mm is not installed from a checkout.
REQUIREMENTS_FILE = osp.join(REPO_ROOT, 'requirements', 'runtime.txt')


class Codebase(NamedTuple):
    """What the tools need to know about an OpenMMLab codebase.

    Attributes:
        scope (str): Its registry scope, as in ``default_scope`` and in
            ``_base_ = '<scope>::...'``.
        title (str): Its name for messages.
        distribution (str): Its pip distribution, as mmengine names it when
            a ``<scope>::`` base config cannot be found.
        extras (tuple[str]): Other distributions its models import.
    """
    scope: str
    title: str
    distribution: str
    extras: Tuple[str, ...] = ()


CODEBASES: Dict[str, Codebase] = {
    'mmdet': Codebase('mmdet', 'MMDetection', DISTRIBUTIONS['mmdet']),
    # mmseg.models imports ftfy and regex (its multimodal heads).
    'mmseg': Codebase('mmseg', 'MMSegmentation', DISTRIBUTIONS['mmseg'],
                      ('ftfy', 'regex')),
    'mmpretrain': Codebase('mmpretrain', 'MMPretrain',
                           DISTRIBUTIONS['mmpretrain']),
}
# The scope of a config that sets none: the tools began as mmdet's.
DEFAULT_SCOPE = 'mmdet'


class CodebaseNotInstalledError(ImportError):
    """A config needs an OpenMMLab codebase that cannot be imported."""


def config_scope(cfg: Config) -> str:
    """The codebase scope of ``cfg``: its ``default_scope``, else mmdet's."""
    return cfg.get('default_scope') or DEFAULT_SCOPE


def codebase_of(cfg: Config) -> Codebase:
    """The codebase of ``cfg``.

    Raises:
        ValueError: If the tools do not know its ``default_scope``.
    """
    scope = config_scope(cfg)
    if scope not in CODEBASES:
        raise ValueError(
            f"default_scope={scope!r}: the tools run configs of "
            f"{', '.join(map(repr, CODEBASES))}; set default_scope to one "
            f"of them.")
    return CODEBASES[scope]


def pinned_requirements(distributions: Sequence[str]) -> List[str]:
    """``distributions`` as ``requirements/runtime.txt`` pins them.

    A distribution the file does not list, or all of them without the file,
    is returned by its name alone.
    """
    lines = []
    if osp.isfile(REQUIREMENTS_FILE):
        with open(REQUIREMENTS_FILE) as f:
            lines = [line.split('#')[0].strip() for line in f]
    pinned = []
    for name in distributions:
        pattern = re.compile(rf'^{re.escape(name)}\s*([=<>!~]|$)', re.I)
        pinned.append(next((line for line in lines if pattern.match(line)),
                           name))
    return pinned


def install_command(codebase: Codebase) -> str:
    """The pip command that installs ``codebase`` as rla_mm is tested."""
    requirements = pinned_requirements(
        (codebase.distribution, *codebase.extras))
    return 'pip install ' + ' '.join(requirements)


def _not_installed(codebase: Codebase, config_path: str,
                   reason: str) -> CodebaseNotInstalledError:
    return CodebaseNotInstalledError(
        f'{config_path} is an {codebase.title} config, but {reason}. '
        f'Install it into this environment: {install_command(codebase)}')


def missing_config_message(config_path: str) -> str:
    """Why ``config_path`` cannot be read; where the shipped one is.

    The shipped configs live in this checkout, not in the installed plugin:
    a relative ``configs/...`` path given outside the checkout's root is
    pointed at the checkout's file.
    """
    message = f'{config_path}: no such config file'
    shipped = osp.join(REPO_ROOT, config_path)
    if not osp.isabs(config_path) and osp.isfile(shipped):
        return (f'{message} in {osp.abspath(osp.curdir)}. The shipped '
                f'configs are files of the rla_mm checkout, not of the '
                f'installed package: give {shipped}, or run the tool from '
                f'{REPO_ROOT}.')
    return f'{message} ({osp.abspath(config_path)}).'


def read_config(config_path: str) -> Config:
    """``Config.fromfile``, stopping clearly on a missing codebase.

    Raises:
        FileNotFoundError: If there is no such file
            (:func:`missing_config_message`).
        CodebaseNotInstalledError: If the config inherits from a codebase's
            config (``_base_ = '<scope>::...'``) that is not installed, or
            its ``default_scope`` names a codebase that cannot be imported.
    """
    if not osp.isfile(config_path):
        raise FileNotFoundError(missing_config_message(config_path))
    try:
        cfg = Config.fromfile(config_path)
    except ModuleNotFoundError as error:
        # mmengine says '<distribution> is not installed' for a base config
        # of a codebase it cannot find.
        for codebase in CODEBASES.values():
            if str(error).startswith(f'{codebase.distribution} is not'):
                raise _not_installed(
                    codebase, config_path,
                    f'its base config ({codebase.scope}::...) cannot be '
                    f'read: {codebase.distribution} is not installed'
                ) from error
        raise
    require_codebase(cfg, config_path)
    return cfg


def require_codebase(cfg: Config, config_path: str) -> None:
    """Check that the codebase of ``cfg`` imports with its models.

    A scope the tools do not know is left to mmengine.

    Raises:
        CodebaseNotInstalledError: If it does not, with the install command.
    """
    codebase = CODEBASES.get(config_scope(cfg))
    if codebase is None:
        return
    try:
        importlib.import_module(f'{codebase.scope}.models')
    except ImportError as error:
        raise _not_installed(codebase, config_path,
                             f'{codebase.scope}.models cannot be imported '
                             f'({error})') from error


def runner_registry(cfg: Config) -> Registry:
    """The ``RUNNERS`` registry of the codebase of ``cfg``."""
    return importlib.import_module(f'{config_scope(cfg)}.registry').RUNNERS


def build_in_scope(module_cfg: dict, scope: str) -> nn.Module:
    """Build ``module_cfg`` from the registry of codebase ``scope``.

    mmengine's root registry resolves a type in the default scope's
    registry first (``ResNet`` is mmseg's in an mmseg config).
    """
    init_default_scope(scope)
    return MODELS.build(copy.deepcopy(module_cfg))
