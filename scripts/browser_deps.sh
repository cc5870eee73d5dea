#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`).
# Install it when missing, with a colour emoji font so the screenshots show the app's emoji
# icons instead of empty boxes. Needs root (CI images run as root) or sudo.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need+=(fonts-noto-color-emoji)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${need[@]}"
fi
/usr/bin/chromium --version
