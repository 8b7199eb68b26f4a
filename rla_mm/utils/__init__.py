from .checkpoint import (CheckpointMismatchError, extract_state_dict,
                         load_backbone_state_dict, match_state_dict)

__all__ = [
    'CheckpointMismatchError', 'extract_state_dict',
    'load_backbone_state_dict', 'match_state_dict'
]
