#!/bin/sh
# The browser tests drive Debian's Chromium. A fresh machine or CI runner has none: install it then.
set -eu
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "ensure-chromium: $CHROMIUM is installed"
  exit 0
fi
echo "ensure-chromium: $CHROMIUM is missing; installing Debian's chromium package (apt-get update && apt-get install -y chromium)"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no apt-get on this machine; install Chromium at $CHROMIUM yourself (Debian/Ubuntu: apt-get install -y chromium)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-chromium: not root and no sudo; install it yourself: apt-get install -y chromium" >&2
    exit 1
  fi
fi
start=$(date +%s)
if ! $SUDO apt-get update || ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; then
  echo "ensure-chromium: could not install chromium with apt-get; the browser tests need $CHROMIUM (apt-get install -y chromium)" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "ensure-chromium: installed $($CHROMIUM --version 2>/dev/null || echo chromium) in $(( $(date +%s) - start )) s"
