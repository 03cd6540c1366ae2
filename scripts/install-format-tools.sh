#!/usr/bin/env bash
# Installs the tools the file-format tests read weir's files with, so a file weir writes is
# checked by another implementation, not only by weir: Debian's `lzop` command (lzo text files)
# and pyarrow (Apache ORC's C++ reader) in a virtualenv at target/format-tools/py. Safe to run
# again: what is there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; } \
    || { echo "cannot install $* (apt-get install $*)" >&2; exit 1; }
}
command -v lzop >/dev/null || apt_install lzop
py=target/format-tools/py
if ! "$py/bin/python" -c 'import pyarrow.orc' >/dev/null 2>&1; then
  python3 -c 'import venv' >/dev/null 2>&1 || apt_install python3-venv
  rm -rf "$py"
  python3 -m venv "$py"
  "$py/bin/pip" install --quiet --disable-pip-version-check 'pyarrow==18.1.0' \
    || { echo "cannot install pyarrow (pip install pyarrow==18.1.0)" >&2; exit 1; }
fi
