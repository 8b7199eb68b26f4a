"""Markdown tables for the kit's reports and the model-zoo README."""
from typing import List, Sequence

from terminaltables import GithubFlavoredMarkdownTable

_JUSTIFY = {'l': 'left', 'r': 'right', 'c': 'center'}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                   align: str) -> List[str]:
    """The lines of a GitHub-flavoured Markdown table, columns padded.

    Args:
        header (Sequence[str]): Column headers.
        rows (Sequence[Sequence[str]]): Cells, one sequence per row.
        align (str): One of ``l``, ``r``, ``c`` (left, right, centre) per
            column.
    """
    if len(align) != len(header) or set(align) - set(_JUSTIFY):
        raise ValueError(
            f'align needs one of l, r, c per column: {len(header)} columns, '
            f'got {align!r}.')
    table = GithubFlavoredMarkdownTable([list(header)] +
                                        [list(row) for row in rows])
    table.justify_columns = {i: _JUSTIFY[a] for i, a in enumerate(align)}
    return table.table.splitlines()
