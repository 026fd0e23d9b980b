#!/usr/bin/env bash
# Runs the benchmarks on a GPU machine, so that the engine's jit policy (XLA on accelerators,
# plain tf.function on CPUs: saliency_widgets.auto_jit) is decided by measurement on both kinds
# of hardware. Run from anywhere inside the repository:
#
#     bash benchmarks/gpu.sh            # engine vs forward, then the full comparison
#     bash benchmarks/gpu.sh --quick    # a smoke check
#
# It makes a virtualenv with the GPU build of TensorFlow (benchmarks/.venvs/project-gpu; .venv has
# tensorflow-cpu), installs the project into it, runs benchmarks/engine_vs_forward.py with each
# jit setting and then benchmarks/run.py with the issue's sizes (ResNet50V2 at batch 32, streams
# of 1,024 images) into benchmarks/results/gpu.{json,md}. The contenders' virtualenvs
# (benchmarks/.venvs) are CPU builds unless GPU_CONTENDERS=1, which gives them GPU TensorFlow too.
set -euo pipefail

cd "$(git rev-parse --show-toplevel 2>/dev/null || dirname "$0")/."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
VENV=${VENV:-$ROOT/benchmarks/.venvs/project-gpu}
TF_SPEC=${TF_SPEC:-"tensorflow[and-cuda]==2.21.*"}

if ! command -v nvidia-smi > /dev/null; then
    echo "gpu.sh: no nvidia-smi here; this script is for a machine with an NVIDIA GPU" >&2
    exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "$TF_SPEC"
# The project itself without its tensorflow-cpu requirement: the GPU build provides TensorFlow.
"$VENV/bin/python" -m pip install --quiet --no-deps -e .
"$VENV/bin/python" -m pip install --quiet "numpy>=1.24" "matplotlib>=3.7" "tqdm>=4.60" "pillow>=9" "scikit-image>=0.22"
"$VENV/bin/python" -c "import tensorflow as tf; print('GPUs:', tf.config.list_physical_devices('GPU'))"

if [ "${GPU_CONTENDERS:-0}" = "1" ]; then
    # Swap tensorflow-cpu for the GPU build in the contender requirements (same version).
    mkdir -p benchmarks/.venvs
    sed "s/^tensorflow-cpu==/tensorflow[and-cuda]==/" benchmarks/requirements.txt \
        > benchmarks/.venvs/requirements-gpu.txt
    export BENCHMARK_REQUIREMENTS=$ROOT/benchmarks/.venvs/requirements-gpu.txt
    export BENCHMARK_VENVS=$ROOT/benchmarks/.venvs/gpu
fi

if [ "${1:-}" = "--quick" ]; then
    "$VENV/bin/python" benchmarks/engine_vs_forward.py --models shapes --repeats 3
    "$VENV/bin/python" benchmarks/run.py --quick --name gpu-quick
    exit 0
fi

for jit in auto on off; do
    echo "== engine vs forward, jit=$jit"
    "$VENV/bin/python" benchmarks/engine_vs_forward.py --jit "$jit"
done
"$VENV/bin/python" benchmarks/run.py --plan issue --name gpu "$@"
