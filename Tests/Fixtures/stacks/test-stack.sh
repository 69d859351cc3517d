#!/usr/bin/env bash
# Prints a stacks directory holding `bookworm-min`, the tests' stack: Debian 12
# minbase made by scripts/stack --minimal, declared as heroku-24. It is made once
# per recipe and kept outside the clone, under a name made of the digest of its
# recipe (scripts/stack and this file), so a fresh clone builds it once and
# later runs reuse it; a changed recipe gets a new one. Concurrent callers wait
# on one lock and the first one builds.
set -euo pipefail
cd "$(dirname "$0")/../../.."
cache=${KILN_FIXTURE_CACHE:-/var/cache/kiln-fixtures}
digest=$(cat scripts/stack Tests/Fixtures/stacks/test-stack.sh | sha256sum | cut -c1-16)
stacks="$cache/stack-$digest"
mkdir -p "$cache"
exec 9>"$cache/stack-$digest.lock"
flock 9
if [ ! -f "$stacks/bookworm-min/stack.conf" ]; then
  echo "test-stack: making $stacks/bookworm-min (once for this recipe)" >&2
  bash scripts/stack bookworm-min "$stacks" --minimal --heroku heroku-24 --run-image registry.invalid/stacks/bookworm-min >&2
fi
echo "$stacks"
