"""`python -m spikernn ...` is the same as the `spikernn` command."""
from spikernn.cli import main

if __name__ == "__main__":
    main()
