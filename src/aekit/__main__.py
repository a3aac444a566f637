"""``python -m aekit``: the command line, also what ``torchrun -m aekit`` starts in each process."""

import sys

from aekit.cli import main

if __name__ == "__main__":
    sys.exit(main())
