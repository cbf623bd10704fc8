import Foundation
import Hummingbird

/// The `/api/...` routes and the LFS endpoints.
extension HubTestRouter {
    static let actions: Set<String> = ["revision", "tree", "preupload", "commit"]

    func api(_ incoming: Incoming) async throws -> Response {
        let s = Array(incoming.segments.dropFirst())
        if s == ["repos", "create"], incoming.method == "POST" { return try await createRepo(incoming) }
        guard s.count >= 3, let type = TestRepoType.allCases.first(where: { $0.plural == s[0] }) else {
            return Reply.json(404, ["error": "no such API route"])
        }
        // `org/name` (action at 3) or a bare `name` (action at 2): prefer the form naming an existing repository.
        var idCount = 0
        if s.count >= 4, Self.actions.contains(s[3]),
            state.repo(type, s[1] + "/" + s[2]) != nil
                || state.renamedTarget(type, s[1] + "/" + s[2]) != nil
        {
            idCount = 2
        } else if Self.actions.contains(s[2]) {
            idCount = 1
        } else if s.count >= 4, Self.actions.contains(s[3]) {
            idCount = 2
        } else {
            return Reply.json(404, ["error": "no such API route"])
        }
        let id = s[1..<(1 + idCount)].joined(separator: "/")
        let action = s[1 + idCount]
        let arguments = Array(s[(2 + idCount)...])
        let write = action == "preupload" || action == "commit"
        if let failure = authFailure(incoming, write: write) { return failure }
        let repo: StoredRepo
        switch lookup(incoming, type: type, id: id, idSegmentStart: 2, idSegmentCount: idCount) {
        case .found(let found): repo = found
        case .reply(let reply): return reply
        }
        guard let revision = arguments.first else { return Reply.json(400, ["error": "missing revision"]) }
        switch (action, incoming.method) {
        case ("revision", "GET"):
            return revisionInfo(repo, revision: revision)
        case ("tree", "GET"):
            return tree(incoming, repo, revision: revision, path: arguments.dropFirst().joined(separator: "/"))
        case ("preupload", "POST"):
            return try await preupload(incoming, repo, revision: revision)
        case ("commit", "POST"):
            return try await commit(incoming, repo, revision: revision)
        default:
            return Reply.json(405, ["error": "method not allowed"])
        }
    }

    private func revisionNotFound(_ revision: String) -> Response {
        Reply.json(404, ["error": "Invalid rev id: \(revision)"], headers: [("X-Error-Code", "RevisionNotFound")])
    }

    func revisionInfo(_ repo: StoredRepo, revision: String) -> Response {
        guard let commit = repo.commit(for: revision) else { return revisionNotFound(revision) }
        let siblings = commit.files.keys.sorted().map { ["rfilename": $0] }
        return Reply.json(
            200,
            [
                "id": repo.id, "sha": commit.sha, "private": repo.isPrivate, "siblings": siblings,
                "lastModified": "2024-01-01T00:00:00.000Z",
            ])
    }

    func tree(_ incoming: Incoming, _ repo: StoredRepo, revision: String, path: String) -> Response {
        guard let commit = repo.commit(for: revision) else { return revisionNotFound(revision) }
        let recursive = ["true", "1", "True"].contains(incoming.query["recursive"] ?? "")
        let prefix = path.isEmpty ? "" : path + "/"
        var directories = Set<String>()
        var entries: [[String: Any]] = []
        for (filePath, file) in commit.files where filePath.hasPrefix(prefix) {
            let relative = filePath.dropFirst(prefix.count)
            let parts = relative.split(separator: "/")
            // Every folder between `path` and the file, or only the first level when not recursive.
            for depth in 1..<max(1, parts.count) where recursive || depth == 1 {
                directories.insert(prefix + parts[0..<depth].joined(separator: "/"))
            }
            guard recursive || parts.count == 1 else { continue }
            var entry: [String: Any] = ["type": "file", "oid": file.gitOID, "size": file.data.count, "path": filePath]
            if file.isLFS {
                let pointer = Hashes.lfsPointer(sha256: file.sha256, size: file.data.count)
                entry["lfs"] = ["oid": file.sha256, "size": file.data.count, "pointerSize": pointer.count]
            }
            entries.append(entry)
        }
        if entries.isEmpty && directories.isEmpty && !path.isEmpty {
            return Reply.json(404, ["error": "Entry not found"], headers: [("X-Error-Code", "EntryNotFound")])
        }
        entries += directories.map {
            ["type": "directory", "oid": String(repeating: "0", count: 40), "size": 0, "path": $0]
        }
        entries.sort { ($0["path"] as? String ?? "") < ($1["path"] as? String ?? "") }

        guard let pageSize = configuration.treePageSize, pageSize > 0 else { return Reply.json(200, entries) }
        let cursor = Int(incoming.query["cursor"] ?? "") ?? 0
        let page = Array(entries.dropFirst(cursor).prefix(pageSize))
        var headers: [(String, String)] = []
        if cursor + pageSize < entries.count {
            let base = incoming.request.uri.path
            let next = "\(endpoint)\(base)?recursive=\(recursive)&cursor=\(cursor + pageSize)"
            headers.append(("Link", "<\(next)>; rel=\"next\""))
        }
        return Reply.json(200, page, headers: headers)
    }

    func preupload(_ incoming: Incoming, _ repo: StoredRepo, revision: String) async throws -> Response {
        guard repo.commit(for: revision) != nil else { return revisionNotFound(revision) }
        let body = try await Self.readBody(incoming)
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let files = object["files"] as? [[String: Any]]
        else { return Reply.json(400, ["error": "expected {files: [...]}"]) }
        var replies: [[String: Any]] = []
        for file in files {
            guard let path = file["path"] as? String, let size = file["size"] as? Int, file["sample"] is String else {
                return Reply.json(400, ["error": "each file needs path, size and sample"])
            }
            let mode = configuration.isLFS(path: path, size: size) ? "lfs" : "regular"
            replies.append(["path": path, "uploadMode": mode, "shouldIgnore": false])
        }
        return Reply.json(200, ["files": replies, "commitOid": repo.commit(for: revision)?.sha ?? ""])
    }

    func commit(_ incoming: Incoming, _ repo: StoredRepo, revision: String) async throws -> Response {
        guard (incoming.headers["content-type"] ?? "").contains("application/x-ndjson") else {
            return Reply.json(400, ["error": "expected application/x-ndjson"])
        }
        let body = try await Self.readBody(incoming)
        var summary: String?
        var add: [String: Data] = [:]
        var addLFS: [String: (sha256: String, size: Int)] = [:]
        var delete: [String] = []
        for line in body.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let item = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let key = item["key"] as? String, let value = item["value"] as? [String: Any]
            else { return Reply.json(400, ["error": "malformed NDJSON line"]) }
            switch key {
            case "header":
                summary = value["summary"] as? String
            case "file":
                guard let path = value["path"] as? String, value["encoding"] as? String == "base64",
                    let content = (value["content"] as? String).flatMap({ Data(base64Encoded: $0) })
                else { return Reply.json(400, ["error": "malformed file entry"]) }
                add[path] = content
            case "lfsFile":
                guard let path = value["path"] as? String, value["algo"] as? String == "sha256",
                    let oid = value["oid"] as? String, let size = value["size"] as? Int
                else { return Reply.json(400, ["error": "malformed lfsFile entry"]) }
                addLFS[path] = (oid, size)
            case "deletedFile", "deletedFolder":
                if let path = value["path"] as? String { delete.append(path) }
            default:
                return Reply.json(400, ["error": "unknown key \(key)"])
            }
        }
        guard let summary else { return Reply.json(400, ["error": "the first line must be the header"]) }
        do {
            let sha = try state.commit(
                repo.type, repo.id, branch: revision, message: summary, add: add, addLFS: addLFS, delete: delete)
            return Reply.json(
                200,
                [
                    "success": true, "commitOid": sha, "hookOutput": "",
                    "commitUrl": "\(endpoint)/\(repo.type.urlPrefix)\(repo.id)/commit/\(sha)",
                ])
        } catch TestHubState.CommitFailure.noBranch {
            return revisionNotFound(revision)
        } catch TestHubState.CommitFailure.missingLFSObject(let path) {
            return Reply.json(422, ["error": "LFS object for \(path) was not uploaded"])
        } catch {
            return Reply.json(404, ["error": "Repository not found"], headers: [("X-Error-Code", "RepoNotFound")])
        }
    }

    func createRepo(_ incoming: Incoming) async throws -> Response {
        if let failure = authFailure(incoming, write: true) { return failure }
        let body = try await Self.readBody(incoming)
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let name = object["name"] as? String, !name.isEmpty
        else { return Reply.json(400, ["error": "name is required"]) }
        let type = TestRepoType(rawValue: object["type"] as? String ?? "model") ?? .model
        let id = "\(object["organization"] as? String ?? configuration.username)/\(name)"
        let url = "\(endpoint)/\(type.urlPrefix)\(id)"
        let gitattributes = Data(
            configuration.lfsExtensions.map { "*\($0) filter=lfs diff=lfs merge=lfs -text" }
                .joined(separator: "\n").utf8)
        guard
            state.createRepo(
                type, id, isPrivate: object["private"] as? Bool ?? false,
                initialFiles: [".gitattributes": gitattributes])
        else {
            return Reply.json(409, ["error": "You already created this \(type.rawValue) repo", "url": url])
        }
        return Reply.json(200, ["url": url, "name": id, "id": String(Hashes.sha1Hex(Data(id.utf8)).prefix(24))])
    }

    // MARK: - LFS

    static let lfsContentType = "application/vnd.git-lfs+json"

    func lfsBatch(_ incoming: Incoming, gitIndex: Int) async throws -> Response {
        guard incoming.method == "POST" else { return Reply.json(405, ["error": "method not allowed"]) }
        if let failure = authFailure(incoming, write: true) { return failure }
        guard (incoming.headers["accept"] ?? "").contains(Self.lfsContentType) else {
            return Reply.json(406, ["message": "Accept must be \(Self.lfsContentType)"])
        }
        var segments = Array(incoming.segments[...gitIndex])
        var type = TestRepoType.model
        if segments.first == "datasets" {
            type = .dataset
            segments.removeFirst()
        }
        let id = String(segments.joined(separator: "/").dropLast(".git".count))
        guard state.repo(type, id) != nil else {
            return Reply.json(404, ["message": "Repository not found"], headers: [("X-Error-Code", "RepoNotFound")])
        }
        let body = try await Self.readBody(incoming)
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            object["operation"] as? String == "upload", let objects = object["objects"] as? [[String: Any]]
        else { return Reply.json(422, ["message": "expected an upload batch"], contentType: Self.lfsContentType) }
        var replies: [[String: Any]] = []
        for item in objects {
            guard let oid = item["oid"] as? String, let size = item["size"] as? Int else {
                return Reply.json(422, ["message": "objects need oid and size"], contentType: Self.lfsContentType)
            }
            if oid.count != 64 {
                replies.append(["oid": oid, "size": size, "error": ["code": 422, "message": "invalid oid"]])
            } else if let existing = state.lfsObject(oid), existing.count == size {
                replies.append(["oid": oid, "size": size])
            } else {
                replies.append([
                    "oid": oid, "size": size, "authenticated": true,
                    "actions": [
                        "upload": [
                            "href": "\(endpoint)/lfs-upload/\(oid)",
                            "header": ["X-Upload-Token": Self.uploadToken(oid)],
                        ],
                        "verify": [
                            "href": "\(endpoint)/lfs-verify/\(oid)",
                            "header": ["X-Verify-Token": Self.uploadToken(oid)],
                        ],
                    ],
                ])
            }
        }
        return Reply.json(200, ["transfer": "basic", "objects": replies], contentType: Self.lfsContentType)
    }

    static func uploadToken(_ oid: String) -> String { "upload-" + oid.prefix(16) }

    func lfsUpload(_ incoming: Incoming, oid: String) async throws -> Response {
        // The batch action's header: git-lfs clients send it, huggingface_hub's single-part upload does not (S3
        // pre-signed URLs need none), so only a wrong value is refused. Tests check the log for it.
        if let token = incoming.headers["x-upload-token"], token != Self.uploadToken(oid) {
            return Reply.json(403, ["error": "wrong X-Upload-Token"])
        }
        let body = try await Self.readBody(incoming)
        guard Hashes.sha256(body) == oid else { return Reply.json(400, ["error": "content does not hash to \(oid)"]) }
        state.storeLFSObject(body)
        return Reply.empty(200)
    }

    func lfsVerify(_ incoming: Incoming, oid: String) async throws -> Response {
        let body = try await Self.readBody(incoming)
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            object["oid"] as? String == oid, let size = object["size"] as? Int
        else { return Reply.json(422, ["message": "expected {oid, size}"]) }
        guard let stored = state.lfsObject(oid), stored.count == size else {
            return Reply.json(404, ["message": "object \(oid) not found"])
        }
        return Reply.json(200, [:] as [String: Any], contentType: Self.lfsContentType)
    }
}
