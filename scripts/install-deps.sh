#!/usr/bin/env bash
# Installs every Debian package nladc needs to build, test and run (BRIEF §6).
# Idempotent: when everything is present it only checks and returns, so the
# README commands stay fast on a prepared machine.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  ngspice libngspice0-dev          # SPICE engine: CLI and shared library
  libeigen3-dev libboost-dev        # linear algebra, Boost.Odeint (headers)
  catch2 nlohmann-json3-dev libcli11-dev libfmt-dev
  librandom123-dev zlib1g-dev
  gnuplot-nox                       # PNG plots
  clang-14 libfuzzer-14-dev libclang-rt-14-dev   # sanitizer and fuzz builds
  dataset-fashion-mnist             # network-level accuracy study
  adms                              # parse check of the Verilog-A export
  python3-dev pybind11-dev python3-pybind11 python3-numpy   # the Python package (python/)
  python3-torch python3-pytest      # nladc.torch and the Python tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
