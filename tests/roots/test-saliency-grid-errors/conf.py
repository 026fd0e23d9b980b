# Each grid on errors.rst fails in a different way; the build must go on with one warning each.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # for raising_models.py

project = "saliency-grid errors"
extensions = ["sphinxext.saliency_grid"]
saliency_grid_model = "model.keras"
saliency_grid_images = "images/*.png"
saliency_grid_class_names = "zero, one, two, three, four"
exclude_patterns = ["_build"]
