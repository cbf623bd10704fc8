import Foundation
import FuzzSupport
@testable import Hub

/// What the Hub client reads from a server or a user: repo ids, revisions and file paths, ETag and
/// Content-Range headers, the model-info and tree JSON (with LFS pointers' oid and size), the
/// upload's pre-upload and git-lfs batch replies, the cache's tree file, glob patterns. The first byte
/// picks the parser.
@_cdecl("FuzzHub_main")
public func fuzzHubMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzHub(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHub(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Data(bytes: data + 1, count: size - 1)
    let text = String(decoding: body, as: UTF8.self)
    switch data[0] % 10 {
    case 0: _ = try? RepoID(text)
    case 1: _ = try? RepoPath.validateRevision(text)
    case 2: _ = try? RepoPath.validateFilePath(text)
    case 3:
        _ = HubClient.normalizeETag(text)
        _ = HubClient.contentRangeStart(text)
    case 4: _ = try? JSONDecoder().decode(RepoInfo.self, from: body)
    case 5: _ = try? JSONDecoder().decode([RepoEntry].self, from: body)
    case 6:
        let cache = HubCache(root: FuzzInput.folder.appendingPathComponent("hub"))
        if let id = try? RepoID("user/model") {
            let repo = RepoReference(id)
            let url = cache.treeURL(repo, commit: String(repeating: "a", count: 40))
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? body.write(to: url)
            _ = cache.readTree(repo, commit: String(repeating: "a", count: 40))
        }
    case 8: _ = try? JSONDecoder().decode(PreuploadReply.self, from: body)
    case 9: _ = try? JSONDecoder().decode(LFSBatchReply.self, from: body)
    default:
        let parts = text.split(separator: "\u{0}", maxSplits: 1).map(String.init)
        if parts.count == 2 { _ = GlobPattern(parts[0]).matches(parts[1]) }
    }
    return 0
}
