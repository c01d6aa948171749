"""`python -m pipeline`: see pipeline.cli."""

# Parse workers are started by `spawn`, which imports this module again as __mp_main__:
# there it must neither run the CLI nor import it (a worker needs only pipeline.parse).
if __name__ == "__main__":
    from pipeline.cli import main

    main()
