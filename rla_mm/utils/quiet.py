"""Silence third-party warnings that bury the tools' output.

mmengine 0.10.7 looks installed packages up through ``pkg_resources``,
importing (and reloading) it each time a config inherits from a codebase's
config (``_base_ = 'mmdet::...'``); recent setuptools then warns that
``pkg_resources`` is deprecated, twice per lookup. The warning is for
mmengine's maintainers, not for a user of a config: it is filtered by its
exact message, and every other warning still shows.
"""
import warnings

PKG_RESOURCES_DEPRECATION = r'pkg_resources is deprecated as an API'


def silence_pkg_resources_deprecation() -> None:
    """Ignore setuptools' deprecation warning of ``pkg_resources`` only.

    Idempotent: ``warnings.filterwarnings`` drops an identical filter
    before it inserts it again.
    """
    warnings.filterwarnings(
        'ignore', message=PKG_RESOURCES_DEPRECATION, category=UserWarning)
