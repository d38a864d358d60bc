#!/usr/bin/env bash
# The OS packages Anfang needs, from Debian: Chromium (browser tests drive it through
# Playwright — Playwright's own browser download does not work everywhere), CJK fonts
# (PDF reports), gettext (compilemessages), the native libraries WeasyPrint loads (Pango,
# PangoFT2, HarfBuzz subsetting for embedded fonts) and poppler-utils (pdftotext / pdffonts
# in the PDF tests). Idempotent: does nothing when all are present.
set -euo pipefail

PACKAGES=(chromium fonts-noto-cjk gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "install-os-packages: no apt-get here; please install: ${missing[*]}" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "install-os-packages: not root; please run as root: apt-get install ${missing[*]}" >&2
        exit 0
    fi
fi
echo "install-os-packages: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
