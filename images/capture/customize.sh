#!/bin/sh
# mmdebstrap --customize-hook for the capture image; $1 is the root filesystem being built.
set -eu
# tshark dissects pcaps whose content comes from untrusted programs: it runs as this user, never root.
chroot "$1" useradd --no-create-home --uid 1000 --user-group --shell /usr/sbin/nologin analyst
