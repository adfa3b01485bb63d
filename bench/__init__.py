"""``make bench``: speed and memory figures, each printed beside a baseline measured in the same
run (so the ratio means something on whatever machine runs it). Never part of the tests."""
