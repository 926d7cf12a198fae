#!/bin/sh
# mmdebstrap --customize-hook for the node image; $1 is the root filesystem being built.
set -eu
# The unprivileged user that runs every program in the lab (student code never runs as root).
chroot "$1" useradd --create-home --uid 1000 --user-group --shell /bin/bash student
