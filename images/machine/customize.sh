#!/bin/sh
# mmdebstrap --customize-hook for the lab machine image; $1 is the root filesystem being built.
set -eu
# The inner Docker Engine keeps its images and containers on a volume (/var/lib/docker, overlay2 there: an
# overlay cannot sit on the container's own overlay root); and it is started by the cluster (lab/machines.py),
# never by a service manager, so nothing here is enabled.
mkdir -p "$1/var/lib/docker" "$1/etc/docker"
