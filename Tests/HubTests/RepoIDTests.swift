import Foundation
import Hub
import Testing

@Suite("Repository ids, paths, patterns and arguments")
struct RepoIDTests {
    @Test(arguments: ["roberta-base", "org/name", "FacebookAI/roberta-base", "a", "123", "Foo-BAR_foo.bar123", "x/y_z"])
    func validIDs(id: String) throws {
        #expect(try RepoID(id).id == id)
    }

    @Test(arguments: [
        "", "datasets/foo/bar", ".repo", "repo.", "-repo", "foo--bar", "foo..bar", "foo.git", "org/", "/name",
        "with space", "ünïcode", String(repeating: "a", count: 97), "a/b/c",
    ])
    func invalidIDs(id: String) {
        #expect(throws: HubError.self) { try RepoID(id) }
    }

    @Test func invalidIDErrorNamesTheID() {
        do {
            _ = try RepoID("foo--bar")
            Issue.record("accepted")
        } catch {
            #expect(String(describing: error).contains("'foo--bar'"))
        }
    }

    @Test func cacheFolderNames() throws {
        #expect(RepoReference(try RepoID("org/name")).cacheFolderName == "models--org--name")
        #expect(RepoReference(try RepoID("roberta-base")).cacheFolderName == "models--roberta-base")
        #expect(
            RepoReference(try RepoID("amazon_polarity"), type: .dataset).cacheFolderName == "datasets--amazon_polarity")
    }

    @Test func revisionsAndPaths() {
        #expect(RepoPath.isCommitHash(String(repeating: "a1", count: 20)))
        #expect(!RepoPath.isCommitHash(String(repeating: "A1", count: 20)))
        #expect(!RepoPath.isCommitHash("main"))
        #expect(throws: HubError.self) { try RepoPath.validateRevision("../x") }
        #expect(throws: HubError.self) { try RepoPath.validateRevision("") }
        #expect(throws: Never.self) { try RepoPath.validateRevision("refs/pr/1") }
        for bad in ["", "/etc/passwd", "a/../b", "../x", "a//b", "a\\b", "./a"] {
            #expect(throws: HubError.self, "\(bad)") { try RepoPath.validateFilePath(bad) }
        }
        #expect(throws: Never.self) { try RepoPath.validateFilePath("a/b/c.json") }
    }

    @Test func globPatternsFollowFnmatch() {
        #expect(GlobPattern("*.json").matches("config.json"))
        #expect(GlobPattern("*.json").matches("sub/dir/config.json"))  // `*` crosses `/` in fnmatch
        #expect(!GlobPattern("*.json").matches("config.jsonl"))
        #expect(GlobPattern("onnx/").matches("onnx/model.onnx"))
        #expect(GlobPattern("model-?.bin").matches("model-1.bin"))
        #expect(GlobPattern("[!a]*").matches("b.txt"))
        #expect(!GlobPattern("[!a]*").matches("a.txt"))
        #expect(GlobPattern("[a-c].txt").matches("b.txt"))
        #expect(GlobPattern("[*].txt").matches("*.txt"))
        #expect(!GlobPattern("[*].txt").matches("x.txt"))
        #expect(GlobPattern("a[").matches("a["))
        #expect(GlobPattern.filter(["a.json", "b.bin", "c.json"], allow: ["*.json"], ignore: ["c*"]) == ["a.json"])
    }

    @Test func sourceArguments() throws {
        #expect(try SourceReference.parse("org/name") == .hub(try RepoID("org/name"), revision: "main"))
        #expect(try SourceReference.parse("org/name@v1.0") == .hub(try RepoID("org/name"), revision: "v1.0"))
        #expect(try SourceReference.parse("roberta-base") == .hub(try RepoID("roberta-base"), revision: "main"))
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        guard case .local(let url) = try SourceReference.parse(tmp.path) else {
            Issue.record("not local")
            return
        }
        #expect(url.path == tmp.standardizedFileURL.path)
        #expect(throws: HubError.self) { try SourceReference.parse("./definitely-missing-folder") }
        do {
            _ = try SourceReference.parse("not a/valid/id")
            Issue.record("accepted")
        } catch {
            #expect(String(describing: error).contains("not an existing local path"))
        }
    }

    @Test func progressBarSizes() {
        #expect(ProgressBar.bytes(999) == "999 B")
        #expect(ProgressBar.bytes(1_500_000) == "1.5 MB")
        let bar = ProgressBar(enabled: false)
        bar.update("x", done: 1, total: 2)  // disabled: draws nothing, must not crash
        bar.finish()
    }
}
