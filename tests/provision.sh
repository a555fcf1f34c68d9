#!/usr/bin/env sh
# What `make test` needs beyond Python: a headless Chromium and poppler's pdftoppm for the report checks
# (tests/browser.py). Installs them with apt-get where it can (as root, or with password-less sudo); where it cannot,
# prints one line saying what to install and exits 1, so that the suite does not start only to fail its report checks.
# $CHROMIUM names a Chromium executable to use instead of looking one up.

has_chromium() {
  if [ -n "${CHROMIUM:-}" ] && command -v "$CHROMIUM" >/dev/null 2>&1; then
    return 0
  fi
  for name in chromium chromium-browser google-chrome google-chrome-stable chrome; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}

missing=""
has_chromium || missing="chromium"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
[ -z "$missing" ] && exit 0
missing=$(echo $missing)

give_up() {
  echo "make test needs $missing for the report checks and could not install them ($1): install them (Debian/Ubuntu: sudo apt-get install -y $missing; or set CHROMIUM to a Chromium executable), then rerun" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || give_up "no apt-get"
if [ "$(id -u)" = 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root="sudo -n"
else
  give_up "not root"
fi
echo "installing $missing for the report checks (apt-get)" >&2
# shellcheck disable=SC2086
$as_root apt-get update -qq >/dev/null 2>&1 || give_up "apt-get update failed"
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1 || give_up "apt-get install failed"
