"""Deployment: the contracts, the founding of a consortium, the founders file and the
deployment manifest."""
