#!/usr/bin/env bash
# Installs the database servers the Jdbc tests start (crates/weir/tests/suite/db): Debian's
# PostgreSQL and MariaDB, server and client. The tests start each in a temporary data directory
# on a free port; nothing is started here, and the packages' own services are not needed.
# Safe to run again: what is there is kept.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 \
    || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; } \
    || { echo "cannot install $* (apt-get install $*)" >&2; exit 1; }
}
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
command -v psql >/dev/null || apt_install postgresql-client
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
command -v mariadb >/dev/null || apt_install mariadb-client
