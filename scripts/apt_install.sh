#!/usr/bin/env bash
# apt_install.sh PACKAGE WHAT: install Debian's PACKAGE (with sudo when not root), for WHAT, or say what is missing.
set -euo pipefail
PACKAGE="$1"
WHAT="$2"
if ! command -v apt-get >/dev/null; then
  echo "install $PACKAGE for $WHAT (no apt-get on this machine)" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
echo "Installing Debian's $PACKAGE for $WHAT"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$PACKAGE" >/dev/null
