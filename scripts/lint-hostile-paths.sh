#!/usr/bin/env bash
# Keeps the modules that run as root beside builds from touching a path a
# build or a push controls with Foundation's or libc's path calls: those go
# through KilnConfine.ConfinedDirectory (beneath a descriptor, no link out).
# A direct call is allowed in a file listed in scripts/farm-paths.allow, or
# on a line that says `// farm-owned: WHY`. Exits 1 and lists the calls otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
modules=(Sources/KilnWorker Sources/KilnReceiver Sources/KilnCache Sources/KilnBuildpacks Sources/KilnImage Sources/KilnCNB Sources/KilnAgent)
pattern='FileManager|String\(contentsOf|Data\(contentsOf|contentsOfFile|FileHandle\(forReading|FileHandle\(forWriting|fopen\(|[^a-z_]lstat\(|[^a-z_]stat\(|[^a-zA-Z_.]open\(|unlink\(|rename\('
allowed=$(grep -v '^#' scripts/farm-paths.allow | awk 'NF { print $1 }')
status=0
while IFS= read -r hit; do
  file=${hit%%:*}
  grep -qxF "$file" <<<"$allowed" && continue
  case "$hit" in *"// farm-owned: "*) continue ;; esac
  echo "lint: $hit" >&2
  status=1
done < <(grep -rnE "$pattern" "${modules[@]}" --include='*.swift' | grep -vE ':[0-9]+:\s*///?' || true)
for file in $allowed; do
  [ -f "$file" ] || { echo "lint: scripts/farm-paths.allow lists $file, which does not exist" >&2; status=1; }
done
if [ "$status" -ne 0 ]; then
  echo "lint: a path a build or a push controls must go through ConfinedDirectory (KilnConfine); a farm-owned path needs '// farm-owned: WHY' on its line or its file in scripts/farm-paths.allow" >&2
else
  echo "lint: no direct file-system call on a build's paths in ${modules[*]}"
fi
exit "$status"
