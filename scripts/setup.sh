#!/usr/bin/env bash
# Set up everything livemusic-kernel needs, idempotently:
#   scripts/setup.sh          the package in .venv, and PortAudio (as root on Debian/Ubuntu)
#   scripts/setup.sh test     the same, plus the test tools and the real programs the tests run (jackd)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-run}"

say() { printf 'setup: %s\n' "$*" >&2; }

# System packages: PortAudio for the sound card. For the tests: JACK gives a real audio clock,
# iproute2 a private network namespace where Ableton Link peers can meet without leaving the machine,
# ghc with the Tidal library a real TidalCycles, and SuperCollider a real sclang and scsynth;
# FluidSynth with the General MIDI soundfont renders the music the audio analysis is tested on;
# Chromium (with a font) is the browser the widgets' end-to-end tests drive in JupyterLab.
packages=(libportaudio2)
[ "$purpose" = test ] && packages+=(jackd2 iproute2 ghc libghc-tidal-dev supercollider-language supercollider-server
                                     fluidsynth fluid-soundfont-gm chromium fonts-dejavu-core)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]}); going on without"
    fi
fi

# The Python environment, reinstalled only when pyproject.toml changes.
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
extras="."
[ "$purpose" = test ] && extras=".[dev,jupyter]"
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-${purpose}"
if [ ! -e "$stamp" ]; then
    say "installing livemusic-kernel ($extras) into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$extras"
    rm -f .venv/.installed-*-"${purpose}"
    touch "$stamp"
fi
say "ready"
