#!/usr/bin/env bash
# The browser the browser tests drive: Debian's chromium, at /usr/bin/chromium. Playwright's own browser builds are
# never downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1); Playwright launches this one through executable_path.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
bash "$(dirname "$0")/apt_install.sh" chromium "the browser tests (they need /usr/bin/chromium)"
/usr/bin/chromium --version
