"""Suite-wide fixtures."""
from collections import OrderedDict

import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def _keep_default_scope():
    """Undo a test's ``init_default_scope``: mmengine's current default
    scope is process-wide (its latest ``DefaultScope`` instance), so one set
    by a tool a test calls in-process (MMDeploy sets mmseg's) would make the
    next test build its types from another codebase's registry."""
    before = OrderedDict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)
