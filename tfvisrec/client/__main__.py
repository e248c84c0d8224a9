"""`python -m tfvisrec.client`: see `tfvisrec.client.cli`."""
from tfvisrec.client.cli import run

if __name__ == "__main__":
    run()
