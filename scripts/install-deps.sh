#!/usr/bin/env bash
# Installs what trident needs to build, test and benchmark on Debian 12 / Ubuntu, if it is missing:
# cmake, ninja-build, g++, libtbb-dev, catch2, libbenchmark-dev, python3, python3-matplotlib (the
# benchmark report's plots), git, and for trident::gemm:
#   libblis-serial-dev    BLIS built without threads (trident links it: one call per tile, on trident's
#                         threads, so that a thread_arena's cap holds; BLIS may be called from many
#                         threads at once, which Debian's serial OpenBLAS, built without locking, may not)
#   libopenblas0-pthread  the threaded OpenBLAS: a peer row of the GEMM benchmarks (loaded by path,
#                         never linked), and the BLAS NumPy uses once installed
#   python3-numpy         np.dot, the lecture's own GEMM code, as a peer row
# A machine that has them all is left alone (apt is not run at all).  Needs root, or sudo.
# Then checks that cmake is at least 3.25 (the presets need it).
set -euo pipefail

packages=(cmake ninja-build g++ libtbb-dev catch2 libbenchmark-dev python3 python3-matplotlib git
          libblis-serial-dev libopenblas0-pthread python3-numpy)

installed() { # dpkg-query: is the package installed (status "install ok installed")?
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: this script needs a Debian or Ubuntu system (dpkg-query and apt-get)." >&2
  echo "install-deps: install by hand: ${packages[*]} (CMake >= 3.25)" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: ${missing[*]} missing, and this is not root and sudo is not installed." >&2
    echo "install-deps: as root, run: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all present (${packages[*]})"
fi

# CMake >= 3.25: the presets (schema 6, workflow presets) need it.
cmake_version=$(cmake --version 2>/dev/null | sed -n 's/^cmake version \([0-9][0-9.]*\).*/\1/p')
if [ -z "$cmake_version" ]; then
  echo "install-deps: cmake is not on PATH after the install." >&2
  exit 1
fi
if [ "$(printf '%s\n%s\n' 3.25 "$cmake_version" | sort -V | head -n1)" != "3.25" ]; then
  echo "install-deps: CMake $cmake_version is too old: trident's presets need CMake 3.25 or newer." >&2
  echo "install-deps: Debian 12 and Ubuntu 23.04 or later ship one; on an older release install a newer" >&2
  echo "install-deps: CMake (for instance 'python3 -m pip install cmake') and put it first on PATH." >&2
  exit 1
fi
echo "install-deps: cmake $cmake_version"
