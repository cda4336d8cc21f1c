#!/usr/bin/env bash
# Regenerates energy_core._pb from proto/ (protoc from grpcio-tools, a dev dependency).
# The generated modules import each other as `energy.*`; they live under
# `energy_core._pb`, so their imports are rewritten to the package path.
set -euo pipefail
out="${1:-libs/energy-core/src/energy_core/_pb}"
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
protos=$(cd proto && find . -name '*.proto' | sort)
(cd proto && python -m grpc_tools.protoc -I. --python_out="$out" --pyi_out="$out" $protos)
find "$out" -name '*.py' -o -name '*.pyi' | xargs sed -i -E 's/^from energy\./from energy_core._pb.energy./'
find "$out" -type d -exec touch {}/__init__.py \;
