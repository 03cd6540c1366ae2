#!/usr/bin/env bash
# Fetches Flink 2.3.0's own web dashboard and CLI from the `apache-flink` 2.3.0 wheels on PyPI
# (no Flink download site needed) and lays them out under OUT_DIR:
#   OUT_DIR/web         the dashboard's static files: weir start -D web.dashboard.dir=OUT_DIR/web
#   OUT_DIR/flink-home  a FLINK_HOME for bin/flink (needs Java 11+): OUT_DIR/flink-home/bin/flink list -m 127.0.0.1:8081
# The wheels are kept in OUT_DIR/wheels, so a second run downloads nothing.
set -euo pipefail
out=${1:?usage: scripts/flink-dist.sh OUT_DIR}
version=2.3.0
mkdir -p "$out/wheels"
out=$(cd "$out" && pwd)
wheels="$out/wheels"
if ! ls "$wheels"/apache_flink_libraries-$version-*.whl >/dev/null 2>&1 \
  || ! ls "$wheels"/apache_flink-$version-*.whl >/dev/null 2>&1; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux2014_x86_64 \
    "apache-flink==$version" "apache-flink-libraries==$version" -d "$wheels"
fi
libs=$(ls "$wheels"/apache_flink_libraries-$version-*.whl | head -1)
flink=$(ls "$wheels"/apache_flink-$version-*.whl | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$out/web/index.html" ]; then
  unzip -q -o "$libs" 'pyflink/lib/flink-dist-*.jar' -d "$tmp"
  unzip -q -o "$tmp"/pyflink/lib/flink-dist-*.jar 'web/*' -d "$tmp/dist"
  rm -rf "$out/web"
  mv "$tmp/dist/web" "$out/web"
fi

if [ ! -x "$out/flink-home/bin/flink" ]; then
  rm -rf "$out/flink-home" "$tmp/home"
  unzip -q -o "$flink" 'pyflink/bin/*' 'pyflink/conf/*' -d "$tmp/home"
  unzip -q -o "$libs" 'pyflink/lib/*' 'pyflink/bin/*' -d "$tmp/home"
  chmod +x "$tmp"/home/pyflink/bin/*
  mv "$tmp/home/pyflink" "$out/flink-home"
fi
echo "Flink $version dashboard: $out/web"
echo "Flink $version CLI:       $out/flink-home/bin/flink"
