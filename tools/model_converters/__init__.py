"""Checkpoint converters: released RLA-Net files to mmdet 3.x ones."""
