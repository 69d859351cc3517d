"""Turns an app's lockfile into a pip requirements file of exact pins.

Usage: lock-requirements.py KIND LOCKFILE [PYPROJECT]
KIND is pipenv (Pipfile.lock: its `default` section), poetry (poetry.lock:
the main group's packages) or uv (uv.lock: the packages the root project's
non-dev dependencies reach). Prints one requirement a line, with
`--hash` options when every requirement has hashes (pip then checks each
download against the lock). The lock is the whole dependency closure, so the
builder installs the result with `pip install --no-deps`.

Any lockfile it cannot read ends it with exit status 2 and one line on
stderr naming the file and the problem, for the build log.
"""
import json
import re
import sys
import tomllib


class LockError(Exception):
    pass


def normalize(name):
    # PEP 503: lockfiles name packages in several spellings.
    return re.sub(r"[-_.]+", "-", name).lower()


class Requirement:
    def __init__(self, spec, hashes=(), marker=None):
        self.spec = spec
        self.hashes = [h if ":" in h else "sha256:" + h for h in hashes]
        self.marker = marker

    def line(self, with_hashes):
        line = self.spec
        if self.marker:
            line += " ; " + self.marker
        if with_hashes:
            line += "".join(f" --hash={h}" for h in self.hashes)
        return line


def pipenv(path, _pyproject):
    with open(path, "rb") as handle:
        try:
            lock = json.load(handle)
        except json.JSONDecodeError as error:
            raise LockError(f"is not valid JSON: {error}")
    if not isinstance(lock, dict) or not isinstance(lock.get("default", {}), dict):
        raise LockError("has no `default` section of packages")
    requirements = []
    for name, entry in sorted(lock.get("default", {}).items()):
        if not isinstance(entry, dict):
            raise LockError(f"package {name} is not an object")
        extras = f"[{','.join(entry['extras'])}]" if entry.get("extras") else ""
        if "version" in entry:
            spec = f"{name}{extras}{entry['version']}"
        elif "git" in entry:
            ref = entry.get("ref", "")
            spec = f"{name}{extras} @ git+{entry['git']}" + (f"@{ref}" if ref else "")
        elif "path" in entry:
            spec = entry["path"]
        elif "file" in entry:
            spec = f"{name}{extras} @ {entry['file']}"
        else:
            raise LockError(f"package {name} has no version, git, path or file")
        requirements.append(Requirement(spec, entry.get("hashes", []), entry.get("markers")))
    return requirements


def load_toml(path, label):
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise LockError(f"is not valid TOML: {error}") if label is None else LockError(f"({label}) is not valid TOML: {error}")


def poetry_spec(package):
    name, version = package["name"], package["version"]
    source = package.get("source") or {}
    kind = source.get("type")
    if kind == "git":
        reference = source.get("resolved_reference") or source.get("reference") or ""
        return f"{name} @ git+{source['url']}" + (f"@{reference}" if reference else "")
    if kind in ("directory", "file"):
        return source["url"]
    if kind == "url":
        return f"{name} @ {source['url']}"
    return f"{name}=={version}"


def poetry(path, pyproject_path):
    lock = load_toml(path, None)
    packages = lock.get("package", [])
    if not isinstance(packages, list):
        raise LockError("has no [[package]] entries")
    by_name = {}
    for package in packages:
        if "name" not in package or "version" not in package:
            raise LockError("has a [[package]] without a name or a version")
        by_name[normalize(package["name"])] = package
    chosen = {}
    if any("groups" in p for p in packages):
        # Lock format 2.1 (Poetry 2) records each package's groups and markers.
        for package in packages:
            if "main" in package.get("groups", []):
                markers = package.get("markers")
                if isinstance(markers, dict):
                    markers = markers.get("main")
                chosen[normalize(package["name"])] = markers
    elif any("category" in p for p in packages):
        # Poetry before 1.5: each package has a category.
        for package in packages:
            if package.get("category", "main") == "main" and not package.get("optional", False):
                chosen[normalize(package["name"])] = None
    else:
        # Lock format 2.0 says nothing of groups: walk from pyproject.toml's main dependencies.
        if pyproject_path is None:
            raise LockError("names no groups, and the app has no pyproject.toml to say which are main")
        pyproject = load_toml(pyproject_path, "pyproject.toml")
        roots = {}
        for name, constraint in pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).items():
            if name.lower() == "python" or (isinstance(constraint, dict) and constraint.get("optional")):
                continue
            roots[normalize(name)] = constraint.get("markers") if isinstance(constraint, dict) else None
        for dependency in pyproject.get("project", {}).get("dependencies", []):
            roots[normalize(re.split(r"[\s\[<>=!~;(@]", dependency.strip(), maxsplit=1)[0])] = None
        pending = list(roots.items())
        while pending:
            name, marker = pending.pop()
            if name in chosen and (chosen[name] is None or chosen[name] == marker):
                continue
            chosen[name] = None if name in chosen or marker is None else marker
            package = by_name.get(name)
            if package is None:
                raise LockError(f"lacks {name}, a main dependency: run `poetry lock`")
            for child, constraint in package.get("dependencies", {}).items():
                constraints = constraint if isinstance(constraint, list) else [constraint]
                if all(isinstance(c, dict) and c.get("optional") for c in constraints):
                    continue
                child_markers = [c.get("markers") for c in constraints if isinstance(c, dict)]
                own = child_markers[0] if len(constraints) == 1 and child_markers else None
                pending.append((normalize(child), own or marker))
    requirements = []
    for name in sorted(chosen):
        package = by_name.get(name)
        if package is None:
            raise LockError(f"lacks {name}, a main dependency: run `poetry lock`")
        files = package.get("files", [])
        requirements.append(Requirement(poetry_spec(package), [f["hash"] for f in files if "hash" in f], chosen[name]))
    return requirements


def uv_spec(package):
    name, version = package["name"], package.get("version", "")
    source = package.get("source") or {}
    if "git" in source:
        url, _, commit = source["git"].partition("#")
        return f"{name} @ git+{url.split('?')[0]}" + (f"@{commit}" if commit else "")
    for kind in ("path", "directory", "editable"):
        if kind in source:
            return source[kind]
    if "url" in source:
        return f"{name} @ {source['url']}"
    return f"{name}=={version}"


def uv(path, _pyproject):
    lock = load_toml(path, None)
    packages = lock.get("package", [])
    if not isinstance(packages, list) or not packages:
        raise LockError("has no [[package]] entries")
    by_name = {}
    for package in packages:
        if "name" not in package:
            raise LockError("has a [[package]] without a name")
        by_name.setdefault(normalize(package["name"]), []).append(package)
    roots = [p for p in packages if (p.get("source") or {}).get("virtual") == "." or (p.get("source") or {}).get("editable") == "."]
    if not roots:
        raise LockError("has no root project (a package whose source is `virtual` or `editable` \".\")")
    root = roots[0]

    def find(dependency):
        candidates = by_name.get(normalize(dependency["name"]), [])
        if "version" in dependency:
            candidates = [c for c in candidates if c.get("version") == dependency["version"]] or candidates
        if not candidates:
            raise LockError(f"lacks {dependency['name']}, which {root['name']} depends on: run `uv lock`")
        return candidates[0]

    # (name, version) -> (package, the markers it is reached under, or None when always).
    # A child takes its own edge's marker, else its parent's: markers come only from the
    # file, so the walk ends.
    chosen, expanded = {}, {}
    pending = [(d, d.get("marker")) for d in root.get("dependencies", [])]
    while pending:
        dependency, marker = pending.pop()
        package = find(dependency)
        key = (normalize(package["name"]), package.get("version"))
        changed = key not in chosen
        if changed:
            chosen[key] = (package, None if marker is None else {marker})
        elif chosen[key][1] is not None and (marker is None or marker not in chosen[key][1]):
            chosen[key] = (package, None if marker is None else chosen[key][1] | {marker})
            changed = True
        done = expanded.setdefault(key, set())
        extras = set(dependency.get("extra", [])) - done
        children = list(package.get("dependencies", [])) if changed else []
        for extra in (done | extras) if changed else extras:
            children += package.get("optional-dependencies", {}).get(extra, [])
        done |= extras
        effective = None if chosen[key][1] is None else marker
        for child in children:
            pending.append((child, child.get("marker") or effective))
    requirements = []
    for key in sorted(chosen, key=lambda k: (k[0], k[1] or "")):
        package, markers = chosen[key]
        hashes = [w["hash"] for w in package.get("wheels", []) if "hash" in w]
        if "hash" in package.get("sdist", {}):
            hashes.append(package["sdist"]["hash"])
        marker = None if markers is None else " or ".join(f"({m})" for m in sorted(markers))
        requirements.append(Requirement(uv_spec(package), hashes, marker))
    return requirements


def main(argv):
    if len(argv) not in (3, 4) or argv[1] not in ("pipenv", "poetry", "uv"):
        print("usage: lock-requirements.py pipenv|poetry|uv LOCKFILE [PYPROJECT]", file=sys.stderr)
        return 2
    kind, path = argv[1], argv[2]
    label = path.rsplit("/", 1)[-1]
    try:
        requirements = {"pipenv": pipenv, "poetry": poetry, "uv": uv}[kind](path, argv[3] if len(argv) == 4 else None)
    except OSError as error:
        print(f"{label}: cannot be read: {error.strerror}", file=sys.stderr)
        return 2
    except LockError as error:
        print(f"{label}: {error}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, AttributeError) as error:
        print(f"{label}: is not a lockfile this builder understands ({type(error).__name__}: {error})", file=sys.stderr)
        return 2
    # pip's hash-checking mode is all or nothing: hashes only when every pin has them.
    with_hashes = bool(requirements) and all(r.hashes and "==" in r.spec for r in requirements)
    for requirement in requirements:
        print(requirement.line(with_hashes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
