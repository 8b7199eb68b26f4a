"""Analysis tools: FLOPs and the backbone benchmark."""
