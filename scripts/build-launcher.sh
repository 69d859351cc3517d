#!/bin/sh
# Builds kiln-launcher, the entrypoint of Kiln's CNB app images, into OUT.
# Static, so it runs on whatever run image the app uses; kept out of
# Package.swift so SwiftPM never links it into a Swift product.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 OUT" >&2
    exit 2
fi
source_dir=$(cd "$(dirname "$0")/../Sources/kiln-launcher" && pwd)
exec "${CC:-cc}" -static -O2 -Wall -Wextra -Werror -s -o "$1" "$source_dir"/*.c
