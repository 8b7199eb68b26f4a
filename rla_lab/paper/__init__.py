"""The paired-experiment kit behind ``tools/paper/``.

Each plain-ResNet config of ``configs/`` and its RLA twin differ only in the
backbone. The kit trains and tests such pairs over several seeds
(:mod:`.kit`), reads their results (:mod:`.report`), gives the paired
statistics of the difference (:mod:`.stats`), and keeps the model zoo's
numbers in one place, ``configs/metafile.yml`` (:mod:`.metafile`), from which
the tables of ``configs/README.md`` are generated (:mod:`.zoo_readme`).
:mod:`.catalog` names the models, backbones and metrics they share;
:mod:`.markdown` writes their tables.
"""
