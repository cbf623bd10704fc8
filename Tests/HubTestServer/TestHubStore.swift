import Crypto
import Foundation

/// Repository kinds the test server hosts.
public enum TestRepoType: String, Sendable, CaseIterable {
    case model
    case dataset

    var plural: String { rawValue + "s" }
    var urlPrefix: String { self == .model ? "" : "datasets/" }
}

/// One file in a commit. LFS files are stored once by sha256; their git object is the pointer file.
struct StoredFile: Sendable {
    var data: Data
    var isLFS: Bool
    var sha256: String
    /// Git blob id: of the content for regular files, of the LFS pointer text for LFS files (as on the Hub).
    var gitOID: String

    init(data: Data, isLFS: Bool) {
        self.data = data
        self.isLFS = isLFS
        self.sha256 = Hashes.sha256(data)
        self.gitOID = Hashes.gitBlobSHA1(
            isLFS ? Hashes.lfsPointer(sha256: Hashes.sha256(data), size: data.count) : data)
    }
}

struct StoredCommit: Sendable {
    var sha: String
    var parent: String?
    var message: String
    var files: [String: StoredFile]
}

struct StoredRepo: Sendable {
    var type: TestRepoType
    var id: String
    var isPrivate: Bool
    var branches: [String: String] = [:]
    var tags: [String: String] = [:]
    var commits: [String: StoredCommit] = [:]

    /// A branch, a tag or a commit hash → the commit.
    func commit(for revision: String) -> StoredCommit? {
        if let sha = branches[revision] ?? tags[revision] { return commits[sha] }
        return commits[revision]
    }
}

/// Everything the server knows, behind one lock: repositories, LFS objects, faults and the request log.
final class TestHubState: @unchecked Sendable {
    private let lock = NSLock()
    private var repos: [String: StoredRepo] = [:]
    private var renames: [String: String] = [:]
    private var lfsObjects: [String: Data] = [:]
    private var faults: [Fault] = []
    private var log: [RecordedRequest] = []
    private var commitCounter = 0
    let configuration: HubTestServer.Configuration

    init(configuration: HubTestServer.Configuration) {
        self.configuration = configuration
    }

    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    static func key(_ type: TestRepoType, _ id: String) -> String { "\(type.rawValue):\(id)" }

    // MARK: Repositories

    func repo(_ type: TestRepoType, _ id: String) -> StoredRepo? {
        locked { repos[Self.key(type, id)] }
    }

    func renamedTarget(_ type: TestRepoType, _ id: String) -> String? {
        locked { renames[Self.key(type, id)] }
    }

    func rename(_ type: TestRepoType, from old: String, to new: String) {
        locked {
            if var repo = repos.removeValue(forKey: Self.key(type, old)) {
                repo.id = new
                repos[Self.key(type, new)] = repo
            }
            renames[Self.key(type, old)] = new
        }
    }

    /// Creates a repository; false when it exists.
    func createRepo(_ type: TestRepoType, _ id: String, isPrivate: Bool, initialFiles: [String: Data]) -> Bool {
        locked {
            guard repos[Self.key(type, id)] == nil else { return false }
            repos[Self.key(type, id)] = StoredRepo(type: type, id: id, isPrivate: isPrivate)
            _ = try? unlockedCommit(
                type, id, branch: "main", message: "initial commit", add: initialFiles,
                addLFS: [:], delete: [])
            return true
        }
    }

    enum CommitFailure: Error {
        case noRepo
        case noBranch
        case missingLFSObject(String)
    }

    /// Adds a commit on `branch`; returns its sha.
    func commit(
        _ type: TestRepoType, _ id: String, branch: String, message: String, add: [String: Data],
        addLFS: [String: (sha256: String, size: Int)] = [:], delete: [String], createBranch: Bool = false
    ) throws -> String {
        try locked {
            try unlockedCommit(
                type, id, branch: branch, message: message, add: add, addLFS: addLFS, delete: delete,
                createBranch: createBranch)
        }
    }

    private func unlockedCommit(
        _ type: TestRepoType, _ id: String, branch: String, message: String, add: [String: Data],
        addLFS: [String: (sha256: String, size: Int)], delete: [String], createBranch: Bool = false
    ) throws -> String {
        guard var repo = repos[Self.key(type, id)] else { throw CommitFailure.noRepo }
        var parentSHA = repo.branches[branch]
        if parentSHA == nil && !repo.branches.isEmpty {
            guard createBranch else { throw CommitFailure.noBranch }
            parentSHA = repo.branches["main"]
        }
        var files = parentSHA.flatMap { repo.commits[$0]?.files } ?? [:]
        for path in delete {
            files[path] = nil
            for key in files.keys where key.hasPrefix(path + "/") { files[key] = nil }
        }
        for (path, data) in add {
            let lfs = configuration.isLFS(path: path, size: data.count)
            files[path] = StoredFile(data: data, isLFS: lfs)
            if lfs { lfsObjects[Hashes.sha256(data)] = data }
        }
        for (path, object) in addLFS {
            guard let data = lfsObjects[object.sha256], data.count == object.size else {
                throw CommitFailure.missingLFSObject(path)
            }
            files[path] = StoredFile(data: data, isLFS: true)
        }
        commitCounter += 1
        let sha = Hashes.sha1Hex(Data("\(id)\n\(parentSHA ?? "")\n\(message)\n\(commitCounter)\n\(UUID())".utf8))
        repo.commits[sha] = StoredCommit(sha: sha, parent: parentSHA, message: message, files: files)
        repo.branches[branch] = sha
        repos[Self.key(type, id)] = repo
        return sha
    }

    func setTag(_ type: TestRepoType, _ id: String, tag: String, commit: String) {
        locked { repos[Self.key(type, id)]?.tags[tag] = commit }
    }

    // MARK: LFS objects

    func lfsObject(_ sha256: String) -> Data? { locked { lfsObjects[sha256] } }
    func storeLFSObject(_ data: Data) { locked { lfsObjects[Hashes.sha256(data)] = data } }

    // MARK: Faults

    func addFault(_ fault: Fault) { locked { faults.append(fault) } }
    func clearFaults() { locked { faults.removeAll() } }

    /// Takes (and counts down) the first fault of one of `kinds` matching the request.
    func takeFault(method: String, path: String, where accept: (Fault.Kind) -> Bool) -> Fault.Kind? {
        locked {
            guard let index = faults.firstIndex(where: { accept($0.kind) && $0.matches(method: method, path: path) })
            else { return nil }
            let kind = faults[index].kind
            faults[index].remaining -= 1
            if faults[index].remaining <= 0 { faults.remove(at: index) }
            return kind
        }
    }

    // MARK: Request log

    func record(_ request: RecordedRequest) { locked { log.append(request) } }
    var requests: [RecordedRequest] { locked { log } }
    func clearLog() { locked { log.removeAll() } }
}

/// Hashes the Hub uses.
enum Hashes {
    static func sha256(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    static func sha1Hex(_ data: Data) -> String { hex(Insecure.SHA1.hash(data: data)) }

    /// `git hash-object`: sha1 of `blob <size>\0<content>`.
    static func gitBlobSHA1(_ data: Data) -> String {
        var blob = Data("blob \(data.count)\0".utf8)
        blob.append(data)
        return sha1Hex(blob)
    }

    static func lfsPointer(sha256: String, size: Int) -> Data {
        Data("version https://git-lfs.github.com/spec/v1\noid sha256:\(sha256)\nsize \(size)\n".utf8)
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
