# The test copies this root to a temporary folder with a tiny model (model.keras) and images
# (images/*.png); the repository root is put on sys.path by the test.
project = "saliency-grid metrics test"
extensions = ["sphinxext.saliency_grid"]
saliency_grid_model = "model.keras"
saliency_grid_class_names = "zero, one, two, three, four"
exclude_patterns = ["_build"]
