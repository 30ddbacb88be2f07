"""The fashion_cnn example: data preparation (data.py) and training (train.py)."""
