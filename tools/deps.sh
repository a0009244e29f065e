#!/bin/sh
# deps.sh: installs with apt-get what xrecover needs to build and test, if
# it is missing; when not root, prints the command to run instead.
set -eu

# pkg-config module or command  ->  Debian package
need="
pkg:hiredis:libhiredis-dev
pkg:sqlite3:libsqlite3-dev
pkg:libcjson:libcjson-dev
pkg:libcurl:libcurl4-openssl-dev
pkg:libcrypto:libssl-dev
pkg:libmicrohttpd:libmicrohttpd-dev
cmd:curl:curl
cmd:pkg-config:pkg-config
cmd:cc:gcc
cmd:make:make
cmd:redis-server:redis-server
cmd:redis-cli:redis-tools
cmd:sqlite3:sqlite3
cmd:setpriv:util-linux
cmd:python3:python3
cmd:shellcheck:shellcheck
cmd:mandoc:mandoc
cmd:systemd-analyze:systemd
cmd:logrotate:logrotate
"
# `deps.sh html`: also what the HTML report test needs
[ "${1:-}" = html ] && need="$need cmd:chromium:chromium"

missing=""
for item in $need; do
	kind=${item%%:*}
	rest=${item#*:}
	what=${rest%%:*}
	pkg=${rest#*:}
	case $kind in
	pkg) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$what" && continue ;;
	cmd) command -v "$what" >/dev/null 2>&1 && continue ;;
	esac
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "xrecover needs these Debian packages:$missing" >&2
	echo "install them with: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
