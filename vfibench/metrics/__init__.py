"""Image-quality metrics, computed per frame, and the analysis of their disagreement."""
