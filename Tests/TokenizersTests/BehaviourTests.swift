import Foundation
import Testing
@testable import Tokenizers

/// Behaviour checked directly (not through fixtures): pre-tokenisation, merge algorithms,
/// special tokens, vocabulary access.
@Suite("Behaviour")
struct BehaviourTests {
    func preTokens(_ text: String) -> [String] {
        var out: [String] = []
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { b in
            guard let base = b.baseAddress else { return }
            ByteLevelPreTokenizer.split(base, b.count) { s, e in
                out.append(String(decoding: UnsafeBufferPointer(start: base + s, count: e - s), as: UTF8.self))
            }
        }
        return out
    }

    @Test("GPT-2 pattern splits", arguments: [
        ("Hello world", ["Hello", " world"]),
        ("it's I'M", ["it", "'s", " I", "'", "M"]),
        ("a  b", ["a", " ", " b"]),
        ("a \n b", ["a", " \n", " b"]),
        ("x\ny", ["x", "\n", "y"]),
        ("end   ", ["end", "   "]),
        ("3.14 abc123", ["3", ".", "14", " abc", "123"]),
        ("!!'s", ["!!'", "s"]),
        ("e\u{301}", ["e", "\u{301}"]),
        ("a\u{00A0}b", ["a", "\u{00A0}", "b"]),
        ("", []),
    ] as [(String, [String])])
    func gpt2Split(text: String, expected: [String]) {
        #expect(preTokens(text) == expected)
    }

    @Test("heap and linear merges agree", arguments: ["roberta-base"])
    func heapMatchesLinear(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        guard case .bpe(let bpe) = tokenizer.model else { Issue.record("not BPE"); return }
        let words = ["supercalifragilisticexpialidocious", "antidisestablishmentarianism", String(repeating: "ab", count: 40),
                     String(repeating: "the", count: 30), "ÅngströmÅngströmÅngström", "1234567890123456789012345678901234567890"]
        var workspace = BPEMergeWorkspace()
        for word in words {
            let initial = Array(word.utf8).map { bpe.byteToId[Int($0)] }
            var linear = initial
            bpe.mergeLinear(&linear)
            var heap = initial
            bpe.mergeWithHeap(&heap, workspace: &workspace)
            #expect(linear == heap, "\(word)")
        }
    }

    @Test("byte-level BPE round-trips any text")
    func byteLevelRoundTrip() throws {
        let t = try Fixtures.tokenizer("roberta-base")
        let texts = try #require(Fixtures.texts)
        // `<mask>` swallows the spaces before it (lstrip), so texts holding it are left out.
        let longWord = String(repeating: "pneumonoultramicroscopic", count: 4_000)
        for text in (texts.hard + texts.random + [longWord]) where !text.contains("<mask>") {
            let ids = t.encode(text, options: EncodeOptions(addSpecialTokens: false)).ids
            #expect(t.decode(ids, skipSpecialTokens: false) == text)
        }
    }

    @Test func robertaSpecials() throws {
        let t = try Fixtures.tokenizer("roberta-base")
        #expect(t.kind == .byteLevelBPE)
        #expect(t.padTokenId == 1)
        #expect(!t.usesTokenTypeIds)
        #expect(t.vocabularySize == 50265)
        #expect(["<s>", "<pad>", "</s>", "<unk>", "<mask>"].map { t.tokenToId($0) } == [0, 1, 2, 3, 50264])
        #expect(t.tokenToId("Ġthe") == 5)
        #expect(t.idToToken(5) == "Ġthe")
        #expect(t.idToToken(-1) == nil && t.idToToken(50265) == nil)
        #expect(t.tokenToId("not a token at all") == nil)
        // An explicit empty second text is a pair (the Rust core and the slow tokenizer agree).
        #expect(t.encode("a", pair: "").ids == [0, t.tokenToId("a")!, 2, 2, 2])
        #expect(t.encode("").ids == [0, 2])
        #expect(t.decode([0, 31414, 2], skipSpecialTokens: false) == "<s>Hello</s>")
        #expect(t.decode([99_999, 31414]) == "Hello")
    }

    @Test func minilmSpecials() throws {
        let t = try Fixtures.tokenizer("minilm")
        #expect(t.kind == .wordPiece)
        #expect(t.padTokenId == 0)
        #expect(t.usesTokenTypeIds)
        #expect(t.vocabularySize == 30522)
        #expect(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map { t.tokenToId($0) } == [0, 100, 101, 102, 103])
        let e = t.encode("hello", pair: "world")
        #expect(e.typeIds == [0, 0, 0, 1, 1])
        #expect(e.specialTokensMask == [1, 0, 1, 0, 1])
    }

    @Test func truncationLongestFirst() {
        func run(_ a: Int, _ b: Int, _ max: Int) -> (Int, Int) {
            var first = [Int32](repeating: 0, count: a)
            var second: [Int32]? = [Int32](repeating: 0, count: b)
            Truncation.truncate(first: &first, second: &second, maxLength: max, added: 3)
            return (first.count, second?.count ?? -1)
        }
        #expect(run(5, 20, 16) == (5, 8))
        #expect(run(20, 5, 16) == (8, 5))
        #expect(run(20, 20, 16) == (6, 7))
        #expect(run(2, 3, 16) == (2, 3))
        #expect(run(10, 10, 2) == (0, 0))
    }

    @Test func addPrefixSpaceAppliesOncePerSegment() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: Fixtures.root.appendingPathComponent("roberta-base/\(name)"),
                                             to: dir.appendingPathComponent(name))
        }
        try Data(#"{"add_prefix_space": true}"#.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let spaced = try Tokenizer.load(from: dir)
        let plain = try Fixtures.tokenizer("roberta-base")
        #expect(spaced.encode("Hello,world").ids == plain.encode(" Hello,world").ids)
        #expect(spaced.encode(" Hello").ids == plain.encode(" Hello").ids)
    }
}
