import Foundation
import TestSupport
import Testing
import Tokenizers

@testable import Datasets

@Suite("Token cache")
struct TokenCacheTests {
    static func rottenTomatoes() throws -> LabeledDataset {
        try LabeledDataset.load(
            path: Fixtures.repositoryRoot.appendingPathComponent("data/rotten_tomatoes/test.jsonl").path)
    }

    /// The examples in chunks of `size`, as a streaming reader hands them out.
    static func chunks(_ examples: [Example], size: Int) -> () throws -> [Example]? {
        var start = 0
        return {
            guard start < examples.count else { return nil }
            defer { start += size }
            return Array(examples[start..<min(examples.count, start + size)])
        }
    }

    @Test("Built in chunks and memory-mapped: the same ids as in memory", arguments: ["roberta-base", "minilm"])
    func matchesTheInMemoryDataset(tokenizerName: String) throws {
        let tokenizer = try DS.tokenizer(tokenizerName)
        let data = try Self.rottenTomatoes()
        let map = LabelMap(names: ["0", "1"])
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = TokenCache.key(["rotten_tomatoes/test", tokenizerName, "64"])
        let url = folder.appendingPathComponent(TokenCache.fileName(key: key))
        var seen: [Int] = []
        let built = try TokenCache.build(
            at: url, key: key, tokenizer: tokenizer, labelMap: map, maxLength: 64, source: "test.jsonl",
            progress: { seen.append($0) }, next: Self.chunks(data.examples, size: 300))
        let reference = try TokenizedDataset(dataset: data, tokenizer: tokenizer, labelMap: map, maxLength: 64)
        #expect(seen == [300, 600, 900, 1066])
        #expect(built.count == 1066 && built.maxLength == 64)
        #expect(built.ids == reference.ids)
        #expect(built.labels == reference.labels)
        #expect(built.typeIds == reference.typeIds)
        #expect(built.hasTypeIds == tokenizer.usesTokenTypeIds)
        let again = try #require(try TokenCache.load(url, key: key, numLabels: 2))
        #expect(again.ids == reference.ids && again.labels == reference.labels)
        #expect(again.batch([5, 0, 1065], padId: 1) == reference.batch([5, 0, 1065], padId: 1))
        // Only the cache itself is left in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [url.lastPathComponent])
    }

    @Test func missingStaleAndDamagedCaches() throws {
        let tokenizer = try DS.tokenizer("minilm")
        let data = try Self.rottenTomatoes()
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cache.tokens")
        #expect(try TokenCache.load(url, key: 1, numLabels: 2) == nil)
        _ = try TokenCache.build(
            at: url, key: 1, tokenizer: tokenizer, labelMap: LabelMap(names: ["0", "1"]), maxLength: 32, source: "t",
            next: Self.chunks(Array(data.examples.prefix(50)), size: 16))
        #expect(throws: DatasetError.self) { try TokenCache.load(url, key: 2, numLabels: 2) }  // another key
        #expect(throws: DatasetError.self) { try TokenCache.load(url, key: 1, numLabels: 1) }  // labels outside
        let bytes = try Data(contentsOf: url)
        for damaged in [
            bytes.prefix(bytes.count - 3), bytes.prefix(40),
            Data("not a cache at all, clearly....".utf8) + bytes.dropFirst(31),
        ] {
            try damaged.write(to: url)
            #expect {
                try TokenCache.load(url, key: 1, numLabels: 2)
            } throws: { error in
                guard case DatasetError.corruptCache(let file, _) = error else { return false }
                return file == url.path
            }
        }
    }

    /// A build killed mid-way leaves its temporary files; the next build of that cache deletes those
    /// untouched for an hour (another process's build in progress, younger, is left alone).
    @Test func abandonedTemporariesOfKilledBuildsAreRemoved() throws {
        let tokenizer = try DS.tokenizer("minilm")
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cache.tokens")
        let fm = FileManager.default
        let old = folder.appendingPathComponent(".cache.tokens.tmp-KILLED")
        let oldTypes = folder.appendingPathComponent(".cache.tokens.types-KILLED")
        let young = folder.appendingPathComponent(".cache.tokens.tmp-RUNNING")
        let other = folder.appendingPathComponent(".other.tokens.tmp-KILLED")
        for f in [old, oldTypes, young, other] { #expect(fm.createFile(atPath: f.path, contents: Data(count: 64))) }
        let twoHoursAgo = Date().addingTimeInterval(-7200)
        for f in [old, oldTypes, other] { try fm.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: f.path) }
        try TokenCache.build(
            at: url, key: 1, tokenizer: tokenizer, labelMap: LabelMap(names: ["0", "1"]), maxLength: 8, source: "src",
            next: Self.chunks([Example(text: "fine", label: "0")], size: 1))
        let left = Set(try fm.contentsOfDirectory(atPath: folder.path))
        #expect(left == ["cache.tokens", ".cache.tokens.tmp-RUNNING", ".other.tokens.tmp-KILLED"])
    }

    @Test func failedBuildsLeaveNothingBehind() throws {
        let tokenizer = try DS.tokenizer("minilm")
        let folder = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cache.tokens")
        let examples = [Example(text: "fine", label: "0"), Example(text: "odd", label: "7")]
        #expect(throws: DatasetError.labelOutsideHead(file: "src", line: 2, label: "7")) {
            try TokenCache.build(
                at: url, key: 1, tokenizer: tokenizer, labelMap: LabelMap(names: ["0", "1"]), maxLength: 8,
                source: "src",
                next: Self.chunks(examples, size: 1))
        }
        #expect(throws: DatasetError.emptyDataset(file: "src")) {
            try TokenCache.build(
                at: url, key: 1, tokenizer: tokenizer, labelMap: LabelMap(names: ["0", "1"]), maxLength: 8,
                source: "src",
                next: Self.chunks([], size: 1))
        }
        struct ReaderFailed: Error {}
        #expect(throws: ReaderFailed.self) {
            var calls = 0
            try TokenCache.build(
                at: url, key: 1, tokenizer: tokenizer, labelMap: LabelMap(names: ["0", "1"]), maxLength: 8,
                source: "src"
            ) {
                calls += 1
                if calls == 2 { throw ReaderFailed() }
                return examples.prefix(1).map { $0 }
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}
