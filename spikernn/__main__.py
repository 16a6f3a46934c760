"""`python -m spikernn ...` is the same as the `spikernn` command."""
import sys

from spikernn.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
