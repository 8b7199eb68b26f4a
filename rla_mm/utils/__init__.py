from .checkpoint import (CheckpointMismatchError, extract_state_dict,
                         is_pretrained_cfg, load_backbone_state_dict,
                         match_state_dict)
from .quiet import silence_pkg_resources_deprecation

__all__ = [
    'CheckpointMismatchError', 'extract_state_dict', 'is_pretrained_cfg',
    'load_backbone_state_dict', 'match_state_dict'
]

# Every tool imports rla_mm, and with it this package, before it reads a
# config: the one place that reaches them all.
silence_pkg_resources_deprecation()
