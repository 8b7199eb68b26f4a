"""The tools' output is not buried under pkg_resources' deprecation."""
import warnings

from rla_mm.utils.quiet import silence_pkg_resources_deprecation


def test_only_the_pkg_resources_deprecation_is_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        silence_pkg_resources_deprecation()
        warnings.warn(
            'pkg_resources is deprecated as an API. See https://setuptools.'
            'pypa.io/en/latest/pkg_resources.html.', UserWarning)
        warnings.warn('pkg_resources is deprecated as an API',
                      DeprecationWarning)
        warnings.warn("Deprecated call to `pkg_resources.declare_namespace("
                      "'google')`.\nImplementing implicit namespace packages",
                      DeprecationWarning)
        warnings.warn("Deprecated call to `pkg_resources.declare_namespace("
                      "'mine')`.", DeprecationWarning)
        warnings.warn('something else is deprecated', UserWarning)
    assert [(w.category, str(w.message)) for w in caught] == [
        (DeprecationWarning, 'pkg_resources is deprecated as an API'),
        (DeprecationWarning,
         "Deprecated call to `pkg_resources.declare_namespace('mine')`."),
        (UserWarning, 'something else is deprecated'),
    ]


def test_reading_a_config_is_quiet(tmp_path, recwarn):
    """mmengine imports pkg_resources to find mmdet's base config."""
    from rla_lab.utils.codebases import read_config
    config = tmp_path / 'inherits.py'
    config.write_text("_base_ = 'mmdet::_base_/default_runtime.py'\n")
    silence_pkg_resources_deprecation()
    read_config(str(config))
    assert not [w for w in recwarn if 'pkg_resources' in str(w.message)]
