# Sourced by the install scripts that put a PyPI tool in a virtualenv under target/.
# python_venv DIR SPEC: makes DIR a fresh virtualenv (installing Debian's python3-venv first
# when the venv module is missing) and pip-installs SPEC (`name==version`) into it.
python_venv() {
  local py=$1 spec=$2
  if ! python3 -c 'import venv' >/dev/null 2>&1; then
    local SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1 \
      || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends python3-venv >/dev/null 2>&1; } \
      || { echo "cannot install python3-venv" >&2; exit 1; }
  fi
  rm -rf "$py"
  python3 -m venv "$py"
  "$py/bin/pip" install --quiet --disable-pip-version-check "$spec" \
    || { echo "cannot install $spec (pip install '$spec')" >&2; exit 1; }
}
