"""Datasets of frame triplets (I0, It, I1) with their time t."""
