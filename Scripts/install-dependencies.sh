#!/usr/bin/env bash
# Installs what swift-gpt needs to build on Debian/Ubuntu: OpenBLAS and pkg-config, and with
# --with-test-tools also headless Chromium (the tests open the HTML pictures and the server's playground
# in it), Open MPI (data-parallel training's tests) and a Python environment in .venv-reference/ with PyTorch, transformers, gguf, openai and
# playwright (the tests check our files and our server with them). Does nothing when they are already there. Swift itself must be on PATH.
set -euo pipefail
if ! command -v swift >/dev/null 2>&1; then
    echo "error: swift is not on PATH; install Swift 6 from swift.org first" >&2
    exit 1
fi
if [ "$(uname)" = "Darwin" ]; then
    exit 0  # Accelerate provides BLAS on macOS
fi
packages=(libopenblas-dev pkg-config)
# Test tools: headless Chromium, and Open MPI (the data-parallel tests launch gpt with its mpirun).
[ "${1:-}" = "--with-test-tools" ] && packages+=(chromium openmpi-bin)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The reference environment the tests drive transformers with (only with --with-test-tools).
if [ "${1:-}" = "--with-test-tools" ]; then
    root="$(cd "$(dirname "$0")/.." && pwd)"
    venv="$root/.venv-reference"
    if ! "$venv/bin/python" -c "import torch, transformers, safetensors, numpy" >/dev/null 2>&1; then
        echo "installing the reference environment in $venv (torch, transformers)" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            torch==2.13.0 transformers==5.24.0 safetensors numpy
    fi
    # llama.cpp's own Python GGUF package: the tests read our GGUF files back with its GGUFReader.
    if ! "$venv/bin/python" -c "import gguf" >/dev/null 2>&1; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check gguf==0.19.0
    fi
    # The clients the server's tests drive: the official openai package, and playwright (with Debian's
    # chromium as its browser) for the playground page.
    if ! "$venv/bin/python" -c "import openai, playwright" >/dev/null 2>&1; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check openai==3.57.0 playwright==1.65.2
    fi
fi
