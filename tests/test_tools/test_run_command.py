"""``run_command`` relaying the output of commands run side by side."""
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from rla_lab.utils.runs import run_command

# Long lines, so that a child's buffered writes end mid-line, and stdout and
# stderr in turn, so that their order can be checked. One line of Python, so
# that its echo is one line too.
CHILD = ("import sys; [(print('out', i, sys.argv[1] * 3000), "
         "print('err', i, file=sys.stderr)) for i in range({lines})]; "
         "sys.exit({status})")


def child(lines: int, status: int = 0) -> list:
    return [sys.executable, '-c', CHILD.format(lines=lines, status=status)]


def expected_lines(tag: str, lines: int) -> list:
    return [line for i in range(lines)
            for line in (f'out {i} {tag * 3000}', f'err {i}')]


def test_side_by_side_lines_stay_whole(capfd):
    """Two commands at once, each writing 400 KB: every line arrives whole,
    behind its command's prefix, stdout and stderr in the order written,
    and each echo (``+ ...``) starts a line of its own."""
    lines = 60
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(
            lambda tag: run_command([*child(lines), tag], prefix=f'[{tag}] '),
            'ab'))
    assert [r.returncode for r in results] == [0, 0]
    out, err = capfd.readouterr()
    assert err == ''
    printed = out.splitlines()
    assert len([line for line in printed if line.startswith('+ ')]) == 2
    for tag in 'ab':
        relayed = [line[len(f'[{tag}] '):] for line in printed
                   if line.startswith(f'[{tag}] ')]
        assert relayed == expected_lines(tag, lines)
    assert len(printed) == 2 + 2 * 2 * lines


def test_relayed_failure(capfd):
    """The exit status comes back, and with ``check`` raises."""
    assert run_command([*child(1, status=3), 'x'], prefix='> ',
                       check=False).returncode == 3
    with pytest.raises(subprocess.CalledProcessError) as info:
        run_command([*child(1, status=3), 'x'], prefix='> ', echo=False)
    assert info.value.returncode == 3
    assert capfd.readouterr().out.count('> err 0\n') == 2


@pytest.mark.parametrize('kwargs', [dict(capture_output=True),
                                    dict(timeout=5.0)])
def test_prefix_excludes_capture_and_timeout(kwargs):
    with pytest.raises(ValueError, match='prefix=None'):
        run_command(['true'], prefix='> ', **kwargs)
