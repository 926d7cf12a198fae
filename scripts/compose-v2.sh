#!/bin/sh
# Compose v2 (Debian 13 "trixie"'s docker-compose 2.26, a static binary) into the project's cache, with
# Debian's own client: apt-get with a private sources list, lists and archive folders under the cache, no
# dpkg database, so nothing on the host changes. apt checks the package against the archive's signed
# Release file (the trixie key is in bookworm's debian-archive-keyring). The binary is a docker CLI plugin:
#
#   DOCKER_CONFIG=.cache/compose-v2/docker docker compose version
#
# runs it as `docker compose` without installing it (the tests run the compose lab with it and with v1).
# Prints the DOCKER_CONFIG folder. Re-running it with the plugin present does nothing.
set -eu
cache=$(realpath -m "${1:-.cache/compose-v2}")
plugin="$cache/docker/cli-plugins/docker-compose"
if [ -x "$plugin" ]; then echo "$cache/docker"; exit 0; fi
mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/docker/cli-plugins"
cat > "$cache/apt/sources.list" <<LIST
deb [signed-by=/usr/share/keyrings/debian-archive-trixie-stable.gpg] http://deb.debian.org/debian trixie main
LIST
apt_private() {
  apt-get -q -o Dir::Etc::SourceList="$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$cache/apt/lists" -o Dir::Cache::Archives="$cache/apt/archives" \
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Dir::State::status=/dev/null \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}
apt_private update >&2
(cd "$cache/apt/archives" && apt_private download docker-compose >&2)
deb=$(ls "$cache"/apt/archives/docker-compose_2.*_*.deb | tail -1)
mkdir -p "$cache/extract"
dpkg-deb -x "$deb" "$cache/extract"
install -m 0755 "$cache/extract/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
rm -rf "$cache/extract"
DOCKER_CONFIG="$cache/docker" docker compose version >&2
echo "$cache/docker"
