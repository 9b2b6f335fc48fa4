#!/usr/bin/env bash
# The Java runtime the Spark tests' local SparkSession runs on (Debian's openjdk-17-jre-headless). Nothing to do when
# a java is on the PATH.
set -euo pipefail
if command -v java >/dev/null; then
  exit 0
fi
bash "$(dirname "$0")/apt_install.sh" openjdk-17-jre-headless "the Spark tests (a local SparkSession needs Java 17)"
java -version
