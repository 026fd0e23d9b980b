# The test copies this root to a temporary folder with a tiny model (model.keras) and images
# (images/*.png), and writes dense.keras (no convolution: the CAM methods fail on it).
project = "saliency-scores test"
extensions = ["sphinxext.saliency_grid"]
saliency_grid_model = "model.keras"
saliency_grid_class_names = "zero, one, two, three, four"
exclude_patterns = ["_build"]
