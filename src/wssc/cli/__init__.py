"""The ``wssc`` command line."""
