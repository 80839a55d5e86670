#!/bin/sh
# The image's entrypoint: choose OpenBLAS kernels as the local scripts do, then run the command.
. /opt/cdra/openblas-coretype.sh
exec "$@"
