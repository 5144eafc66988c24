"""keep_freed_memory: big blocks freed by one training step are reused by the next, not faulted in again."""

import subprocess
import sys

import pytest

CHILD = r"""
import resource, torch
from swaplab.core.allocator import keep_freed_memory

def page_faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        torch.ones(16 * 2**20)  # 64 MiB: past glibc's largest mmap threshold (32 MiB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

default = page_faults()
applied = keep_freed_memory()
for _ in range(3):  # the heap grows to hold the block once
    page_faults()
print(applied, default, page_faults())
"""


def test_freed_big_blocks_are_reused_without_page_faults():
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's malloc settings: Linux only")
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    applied, default, kept = done.stdout.split()
    if applied != "True":
        pytest.skip("not glibc: its malloc keeps its own settings")
    # 4 KiB pages: about 82 000 faults; transparent huge pages ("always"): about 160
    assert int(default) > 100, "each fresh 64 MiB block should fault its pages in"
    assert int(kept) < int(default) / 10
