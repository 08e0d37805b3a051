"""``python -m graphscore``: the ``graphscore`` command."""

from graphscore.cli import main

if __name__ == "__main__":
    main()
