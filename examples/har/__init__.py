"""The har example: data preparation (data.py) and training (train.py)."""
