#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs exactly the Debian packages activity-tracker needs, and only those
# missing, so it is cheap to call before every build and test run.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --test   also what the tests run against
#                                    (PostgreSQL for the warehouse load,
#                                    Chromium and Node for the browser test,
#                                    clang and its libFuzzer runtime for the
#                                    fuzz targets, promtool for the alert
#                                    rules)
#   scripts/install-deps.sh --fuzz   also clang and libFuzzer (make fuzz)
#   scripts/install-deps.sh --bench  also the benchmark tools (wrk, nginx)
set -euo pipefail

pkgs=(build-essential pkg-config librdkafka-dev libmicrohttpd-dev libjansson-dev
      libsqlite3-dev libcmocka-dev zlib1g-dev libdeflate-dev libssl-dev python3 sqlite3)
case "${1:-}" in
  --test)
    pkgs+=(postgresql postgresql-client chromium clang libclang-rt-14-dev prometheus)
    # a Node.js from elsewhere (nodesource) already brings npm, and Debian's
    # npm package would fight it
    command -v npm >/dev/null || pkgs+=(nodejs npm) ;;
  --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
  --bench) pkgs+=(wrk nginx-light) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
