"""``python -m bids_app`` runs the ``subseg`` command line."""

from .cli.run import main

if __name__ == "__main__":
    main()
