"""Silence third-party warnings that bury the tools' output.

mmengine 0.10.7 looks installed packages up through ``pkg_resources``,
importing (and reloading) it each time a config inherits from a codebase's
config (``_base_ = 'mmdet::...'``); recent setuptools then warns that
``pkg_resources`` is deprecated, twice per lookup, and, on each import,
that protobuf's ``google`` namespace (MMDeploy pins protobuf 3.20) is
declared the deprecated way. These warnings are for mmengine's and
protobuf's maintainers, not for a user of a config: they are filtered by
their exact messages, and every other warning still shows.
"""
import warnings

PKG_RESOURCES_DEPRECATION = r'pkg_resources is deprecated as an API'
NAMESPACE_DEPRECATION = (r'Deprecated call to '
                         r'`pkg_resources\.declare_namespace\(\'google\'\)`')


def silence_pkg_resources_deprecation() -> None:
    """Ignore setuptools' deprecation warnings of ``pkg_resources`` only.

    Idempotent: ``warnings.filterwarnings`` drops an identical filter
    before it inserts it again.
    """
    warnings.filterwarnings(
        'ignore', message=PKG_RESOURCES_DEPRECATION, category=UserWarning)
    warnings.filterwarnings(
        'ignore', message=NAMESPACE_DEPRECATION, category=DeprecationWarning)
