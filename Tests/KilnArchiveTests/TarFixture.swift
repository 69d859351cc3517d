import Foundation
import KilnTestSupport

/// One member of a tar written by Python's `tarfile`, which can make what
/// ``ArchiveWriter`` never writes: hard links and sparse files.
enum TarMember {
    case file(String, String)
    case directory(String)
    case symlink(String, target: String)
    case hardlink(String, target: String)
    /// A GNU sparse file (pax format 0.1): `data` at offset 0, then a hole up to `size` bytes.
    case sparse(String, size: Int64, data: String)

    var json: [String: Any] {
        switch self {
        case .file(let name, let data): ["kind": "file", "name": name, "data": data]
        case .directory(let name): ["kind": "dir", "name": name]
        case .symlink(let name, let target): ["kind": "symlink", "name": name, "target": target]
        case .hardlink(let name, let target): ["kind": "hardlink", "name": name, "target": target]
        case .sparse(let name, let size, let data): ["kind": "sparse", "name": name, "size": size, "data": data]
        }
    }
}

/// Writes a pax tar holding `members`, in order, and returns its path.
func makeTar(_ members: [TarMember], in directory: URL, name: String = "source.tar") async throws -> URL {
    let url = directory.appendingPathComponent(name)
    let script = """
    import io, json, sys, tarfile
    with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as archive:
        for member in json.loads(sys.argv[2]):
            info = tarfile.TarInfo(member['name'])
            info.mode = 0o644
            data = member.get('data', '').encode()
            kind = member['kind']
            if kind == 'dir':
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif kind == 'symlink':
                info.type, info.linkname = tarfile.SYMTYPE, member['target']
            elif kind == 'hardlink':
                info.type, info.linkname = tarfile.LNKTYPE, member['target']
            elif kind == 'sparse':
                info.pax_headers = {
                    'GNU.sparse.size': str(member['size']), 'GNU.sparse.numblocks': '1',
                    'GNU.sparse.offset': '0', 'GNU.sparse.numbytes': str(len(data)),
                    'GNU.sparse.map': '0,%d' % len(data),
                }
            if kind in ('file', 'sparse'):
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    """
    let members = String(decoding: try JSONSerialization.data(withJSONObject: members.map(\.json)), as: UTF8.self)
    let outcome = try await sh("python3", ["-c", script, url.path, members])
    guard outcome.status == 0 else { throw TarFixtureError(output: outcome.output) }
    return url
}

struct TarFixtureError: Error, CustomStringConvertible {
    var output: String
    var description: String { "python3 could not write the test archive: \(output)" }
}
