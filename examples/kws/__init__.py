"""The kws example: data preparation (data.py) and training (train.py)."""
