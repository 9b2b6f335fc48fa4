#!/usr/bin/env bash
# The browser the browser tests drive: Debian's chromium, at /usr/bin/chromium. Playwright's own browser builds are
# never downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1); Playwright launches this one through executable_path.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install Chromium so that /usr/bin/chromium exists (no apt-get on this machine)" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi
echo "Installing Debian's chromium for the browser tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
