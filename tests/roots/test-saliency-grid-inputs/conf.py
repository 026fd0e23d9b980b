# The test copies this root to a temporary folder with images (images/*.png); the model with two
# inputs and its hints come from two_inputs.py, next to this file.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

project = "saliency-grid model inputs test"
extensions = ["sphinxext.saliency_grid"]
exclude_patterns = ["_build"]
