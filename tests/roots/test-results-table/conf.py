# The test puts docs/_ext on sys.path and writes data/results.json (or not).
project = "results-table test"
extensions = ["results_table"]
exclude_patterns = ["_build"]
