import Foundation
import Testing
@testable import Tokenizers

/// Broken model folders must give typed errors that name the file and the line.
@Suite("Load errors")
struct LoadErrorTests {
    /// Writes `files` (name → bytes) into a fresh directory and tries to load it.
    func load(_ files: [String: [UInt8]]) throws -> (Result<Tokenizer, Error>, URL) {
        let dir = try Fixtures.temporaryDirectory()
        for (name, bytes) in files {
            try Data(bytes).write(to: dir.appendingPathComponent(name))
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        return (Result { try Tokenizer.load(from: dir) }, dir)
    }

    func error(_ files: [String: String]) throws -> (TokenizerError?, URL) {
        try error(files.mapValues { Array($0.utf8) })
    }

    func error(_ files: [String: [UInt8]]) throws -> (TokenizerError?, URL) {
        let (result, dir) = try load(files)
        switch result {
        case .success: return (nil, dir)
        case .failure(let e): return (e as? TokenizerError, dir)
        }
    }

    static let vocab = #"{"a": 0, "b": 1, "ab": 2, "Ġ": 3, "<s>": 4, "</s>": 5, "<pad>": 6}"#

    @Test func emptyDirectory() throws {
        let (e, dir) = try error([String: String]())
        #expect(e == .noTokenizerFiles(directory: dir.path))
    }

    @Test func missingMerges() throws {
        let (e, dir) = try error(["vocab.json": Self.vocab])
        #expect(e == .missingFile(path: dir.appendingPathComponent("merges.txt").path))
        #expect(e?.description.contains("merges.txt") == true)
    }

    @Test func malformedVocabJSON() throws {
        let (e, dir) = try error(["vocab.json": "{\n\"a\": 0,\n\"b\": ,\n}", "merges.txt": ""])
        #expect(e == .malformedFile(path: dir.appendingPathComponent("vocab.json").path, line: 3,
                                    reason: "unexpected character \",\""))
        #expect(e?.description.contains("vocab.json:3") == true)
    }

    @Test func vocabJSONWithNonIntegerId() throws {
        let (e, dir) = try error(["vocab.json": "{\"a\": 0,\n\"b\": \"one\"}", "merges.txt": ""])
        guard case .malformedFile(let path, let line, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == dir.appendingPathComponent("vocab.json").path)
        #expect(line == 2)
    }

    /// The id → token table is sized by the largest id: an absurd one is refused before it costs memory.
    /// Each case: the file holding the absurd id, and the folder's files.
    @Test(arguments: [
        ("vocab.json", "2147483000", ["vocab.json": "{\"a\": 0,\n\"b\": 2147483000}", "merges.txt": ""]),
        ("tokenizer.json", "999999999",
         ["tokenizer.json": "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []},\n\"added_tokens\": [{\"id\": 999999999, \"content\": \"<x>\"}]}"]),
        ("tokenizer_config.json", "2000000000",
         ["vocab.json": "{\"a\": 0}", "merges.txt": "",
          "tokenizer_config.json": "{\"added_tokens_decoder\":\n {\"2000000000\": {\"content\": \"<x>\"}}}"]),
    ])
    func absurdTokenIdsAreRefused(file: String, id: String, files: [String: String]) throws {
        let (e, dir) = try error(files)
        guard case .malformedFile(let path, 2?, let reason)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == dir.appendingPathComponent(file).path)
        #expect(reason.hasPrefix("token id \(id) ") && reason.hasSuffix("is beyond any vocabulary (at most 16777215)"), "\(reason)")
    }

    @Test func vocabJSONNotAnObject() throws {
        let (e, dir) = try error(["vocab.json": "[1, 2]", "merges.txt": ""])
        guard case .malformedFile(let path, 1?, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == dir.appendingPathComponent("vocab.json").path)
    }

    @Test func malformedMergesLine() throws {
        let (e, dir) = try error(["vocab.json": Self.vocab, "merges.txt": "#version: 0.2\na b\na b c\n"])
        #expect(e == .malformedFile(path: dir.appendingPathComponent("merges.txt").path, line: 3,
                                    reason: "a merge rule must be two tokens separated by one space"))
    }

    @Test func mergeNamingUnknownToken() throws {
        let (e, dir) = try error(["vocab.json": Self.vocab, "merges.txt": "#version: 0.2 - Trained by `huggingface/tokenizers`\na b\nb x\n"])
        #expect(e == .unknownMergeToken(path: dir.appendingPathComponent("merges.txt").path, line: 3, token: "x"))
        #expect(e?.description.contains("merges.txt:3") == true)
    }

    @Test func mergeProducingUnknownToken() throws {
        let (e, dir) = try error(["vocab.json": Self.vocab, "merges.txt": "b a\n"])
        #expect(e == .unknownMergeToken(path: dir.appendingPathComponent("merges.txt").path, line: 1, token: "ba"))
    }

    @Test func invalidUTF8InMerges() throws {
        var merges = Array("#version: 0.2\na b\n".utf8)
        merges += [0x61, 0x20, 0xC3, 0x28, 0x0A]  // "a \xC3(" : truncated two-byte sequence on line 3
        let (e, dir) = try error(["vocab.json": Array(Self.vocab.utf8), "merges.txt": merges])
        #expect(e == .invalidUTF8(path: dir.appendingPathComponent("merges.txt").path, line: 3))
    }

    @Test func invalidUTF8InVocabTxt() throws {
        let bytes = Array("[PAD]\n[UNK]\nhello\n".utf8) + [0xFF, 0x0A]
        let (e, dir) = try error(["vocab.txt": bytes])
        #expect(e == .invalidUTF8(path: dir.appendingPathComponent("vocab.txt").path, line: 4))
    }

    @Test func emptyVocabTxt() throws {
        let (e, dir) = try error(["vocab.txt": ""])
        #expect(e == .malformedFile(path: dir.appendingPathComponent("vocab.txt").path, line: nil, reason: "the vocabulary is empty"))
    }

    @Test func vocabTxtWithoutUnknownToken() throws {
        let (e, dir) = try error(["vocab.txt": "hello\nworld\n"])
        guard case .malformedFile(let path, _, let reason)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == dir.appendingPathComponent("vocab.txt").path)
        #expect(reason.contains("[UNK]"), "\(reason)")
    }

    @Test func tokenizerJSONSyntaxError() throws {
        let (e, dir) = try error(["tokenizer.json": "{\n  \"model\": {\n    \"type\": \"BPE\"\n    \"vocab\": {}\n  }\n}"])
        guard case .malformedFile(let path, 4?, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == dir.appendingPathComponent("tokenizer.json").path)
    }

    @Test func unsupportedModelType() throws {
        let (e, dir) = try error(["tokenizer.json": #"{"model": {"type": "Unigram", "vocab": {"a": 0}}}"#])
        #expect(e == .unsupportedModel(path: dir.appendingPathComponent("tokenizer.json").path, type: "Unigram"))
    }

    @Test func tokenizerJSONMergeNamingUnknownToken() throws {
        let json = """
        {
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
          "model": {
            "type": "BPE",
            "vocab": {"a": 0, "b": 1, "ab": 2},
            "merges": [
              ["a", "b"],
              "a zz"
            ]
          }
        }
        """
        let (e, dir) = try error(["tokenizer.json": json])
        #expect(e == .unknownMergeToken(path: dir.appendingPathComponent("tokenizer.json").path, line: 8, token: "zz"))
    }

    @Test func tokenizerJSONUnsupportedPreTokenizer() throws {
        let json = #"{"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#
        let (e, dir) = try error(["tokenizer.json": json])
        guard case .unsupportedComponent(let path, "pre_tokenizer", "Metaspace")? = e else {
            Issue.record("got \(String(describing: e))"); return
        }
        #expect(path == dir.appendingPathComponent("tokenizer.json").path)
    }

    @Test func invalidUTF8InTokenizerConfig() throws {
        let (e, dir) = try error(["vocab.txt": Array("[UNK]\n".utf8), "tokenizer_config.json": [0x7B, 0x0A, 0xED, 0xA0, 0x80, 0x7D]])
        #expect(e == .invalidUTF8(path: dir.appendingPathComponent("tokenizer_config.json").path, line: 2))
    }

    @Test("UTF-8 validation rejects overlongs, surrogates and truncation", arguments: [
        [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xF8],
    ] as [[UInt8]])
    func utf8Validation(bytes: [UInt8]) {
        #expect(UTF8Check.firstInvalidOffset(bytes) == 0)
    }

    @Test func utf8ValidationAcceptsValidText() {
        #expect(UTF8Check.firstInvalidOffset(Array("héllo 👍🏽 日本 \u{10FFFF}".utf8)) == nil)
    }
}
