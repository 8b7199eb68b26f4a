"""Type hints of config arguments, as the OpenMMLab codebases spell them.

Each codebase (mmdet, mmseg, mmpretrain) defines these same aliases; ours
keep the plugin free of any one of them.
"""
from typing import List, Optional, Union

from mmengine.config import ConfigDict

ConfigType = Union[ConfigDict, dict]
OptConfigType = Optional[ConfigType]
MultiConfig = Union[ConfigType, List[ConfigType]]
OptMultiConfig = Optional[MultiConfig]
