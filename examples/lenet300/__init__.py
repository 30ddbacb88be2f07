"""The lenet300 example: data preparation (data.py) and training (train.py)."""
