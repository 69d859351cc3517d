#!/usr/bin/env bash
# Installs what Kiln needs to build and run on Debian 12: the Swift toolchain
# is expected at /opt/swift (or on PATH); everything else comes from apt.
set -euo pipefail

packages=(
  git pkg-config zstd openssl curl
  libgit2-dev libarchive-dev libzstd-dev libcurl4-openssl-dev
  postgresql postgresql-client
  bubblewrap busybox-static systemd
  debootstrap dpkg-dev gcc libc6-dev
  unzip rsync openssh-client openssh-server
  buildah runc uidmap skopeo umoci docker-registry
  qemu-system-x86
  python3 python3-venv yarnpkg erlang-base erlang-dev erlang-tools erlang-syntax-tools elixir
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# Node may come from NodeSource (with npm inside) rather than Debian's split packages.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The tests' S3-compatible server, moto, comes from PyPI when it is not installed.
if ! command -v moto_server >/dev/null; then
  echo "setup: installing moto_server from PyPI into /opt/kiln-moto"
  python3 -m venv /opt/kiln-moto
  /opt/kiln-moto/bin/pip install -q 'moto[server]'
  ln -sf /opt/kiln-moto/bin/moto_server /usr/local/bin/moto_server
fi
# The deployment files' offline validators (tests only), from PyPI.
if [ ! -x /opt/kiln-tools/bin/checkov ] || [ ! -x /opt/kiln-tools/bin/kubernetes-validate ]; then
  echo "setup: installing checkov and kubernetes-validate from PyPI into /opt/kiln-tools"
  python3 -m venv /opt/kiln-tools
  /opt/kiln-tools/bin/pip install -q checkov kubernetes-validate
fi
# schemathesis checks the running server against docs/openapi.yaml (scripts/schemathesis.sh), from PyPI.
if [ ! -x /opt/kiln-schemathesis/bin/schemathesis ]; then
  echo "setup: installing schemathesis from PyPI into /opt/kiln-schemathesis"
  python3 -m venv /opt/kiln-schemathesis
  /opt/kiln-schemathesis/bin/pip install -q 'schemathesis>=4,<5'
fi
# Builds run as this unprivileged user inside the sandbox.
id kiln-build >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin kiln-build
# Dockerfile builds run buildah rootless as that user: a RUN's root is mapped onto these subordinate ids.
grep -q '^kiln-build:' /etc/subuid 2>/dev/null || usermod --add-subuids 200000-265535 kiln-build
grep -q '^kiln-build:' /etc/subgid 2>/dev/null || usermod --add-subgids 200000-265535 kiln-build
# Debian starts a cluster of its own on install; Kiln runs private ones instead.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_ctlcluster --mode fast "$(pg_lsclusters -h | awk 'NR==1{print $1}')" main stop 2>/dev/null || true
fi
export PATH="/opt/swift/usr/bin:$PATH"
command -v swift >/dev/null || { echo "setup: no Swift toolchain found (expected /opt/swift/usr/bin/swift)" >&2; exit 1; }
