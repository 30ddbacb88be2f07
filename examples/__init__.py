"""Example models trained on data that installs offline, with their training scripts.

Not part of the installed packages: the committed models and evaluation sets are what the
README's main job compresses and what accuracy is measured on. See examples/README.md.
"""
