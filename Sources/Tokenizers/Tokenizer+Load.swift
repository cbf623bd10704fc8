import Foundation

extension Tokenizer {
    /// Loads from a model folder: `tokenizer.json` if present, else `vocab.json` + `merges.txt`
    /// (byte-level BPE, RoBERTa-style specials), else `vocab.txt` (WordPiece; options from
    /// `tokenizer_config.json`).
    ///
    /// `tokenizer_config.json` is read when present for the special-token spellings,
    /// `add_prefix_space`, `do_lower_case`, `strip_accents`, `tokenize_chinese_chars` and
    /// `clean_up_tokenization_spaces`; `added_tokens.json` adds tokens to the legacy formats.
    /// The `truncation` / `padding` sections of `tokenizer.json` are ignored: `EncodeOptions`
    /// decides, as in transformers.
    ///
    /// - Throws: `TokenizerError`, naming the file (and line) at fault.
    public static func load(from directory: URL) throws -> Tokenizer {
        let config = try TokenizerConfig(directory.appendingPathComponent("tokenizer_config.json"))
        let manager = FileManager.default
        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        if manager.fileExists(atPath: tokenizerJSON.path) {
            return try TokenizerJSONLoader.load(tokenizerJSON, config: config)
        }
        let vocabJSON = directory.appendingPathComponent("vocab.json")
        if manager.fileExists(atPath: vocabJSON.path) {
            return try LegacyLoader.loadByteLevelBPE(
                vocab: vocabJSON, merges: directory.appendingPathComponent("merges.txt"),
                addedTokens: directory.appendingPathComponent("added_tokens.json"), config: config)
        }
        let vocabTxt = directory.appendingPathComponent("vocab.txt")
        if manager.fileExists(atPath: vocabTxt.path) {
            return try LegacyLoader.loadWordPiece(
                vocab: vocabTxt, addedTokens: directory.appendingPathComponent("added_tokens.json"), config: config)
        }
        throw TokenizerError.noTokenizerFiles(directory: directory.path)
    }
}

/// The parts of `tokenizer_config.json` that change tokenisation (all optional).
struct TokenizerConfig {
    var addPrefixSpace: Bool?
    var doLowerCase: Bool?
    var stripAccents: Bool?
    var tokenizeChineseChars: Bool?
    var cleanUpTokenizationSpaces: Bool?
    /// Special-token spellings by role (`unk_token`, `pad_token`, `cls_token`, ...).
    var specialTokens: [String: String] = [:]
    /// transformers' `added_tokens_decoder` (id → token with its flags).
    var addedTokens: [AddedToken] = []

    init() {}

    /// Reads the file if it exists (a missing file means defaults; a broken one throws).
    init(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let file = try TextFile(url)
        let root = try JSONReader.parse(file)
        guard root.members != nil else {
            throw TokenizerError.malformedFile(path: file.path, line: root.line, reason: "expected a JSON object")
        }
        addPrefixSpace = root["add_prefix_space"]?.bool
        doLowerCase = root["do_lower_case"]?.bool
        stripAccents = root["strip_accents"]?.bool
        tokenizeChineseChars = root["tokenize_chinese_chars"]?.bool
        cleanUpTokenizationSpaces = root["clean_up_tokenization_spaces"]?.bool
        for role in ["unk_token", "pad_token", "cls_token", "sep_token", "mask_token", "bos_token", "eos_token"] {
            guard let node = root[role] else { continue }
            // Either a plain string or a serialised AddedToken {"content": ...}.
            if let s = node.string ?? node["content"]?.string { specialTokens[role] = s }
        }
        if let decoder = root["added_tokens_decoder"]?.members {
            for (key, node) in decoder {
                guard let id = Int32(key), id >= 0, let content = node["content"]?.string else {
                    throw TokenizerError.malformedFile(path: file.path, line: node.line,
                                                       reason: "added_tokens_decoder entry needs an integer key and a content")
                }
                try VocabularyBuilder.checkId(Int(id), path: file.path, line: node.line)
                addedTokens.append(AddedToken(
                    content: content, id: id, special: node["special"]?.bool ?? false,
                    lstrip: node["lstrip"]?.bool ?? false, rstrip: node["rstrip"]?.bool ?? false,
                    singleWord: node["single_word"]?.bool ?? false))
            }
        }
    }

    func token(_ role: String, default value: String) -> String { specialTokens[role] ?? value }
}

/// Shared helpers for building a `Tokenizer` from vocabulary data.
enum VocabularyBuilder {
    /// Above every real vocabulary (the largest are a few hundred thousand tokens). The id → token table
    /// is sized by the largest id, so a damaged id must be refused before it costs memory.
    static let maxTokenId = (1 << 24) - 1

    static func checkId(_ id: Int, path: String, line: Int?) throws {
        guard id <= maxTokenId else {
            throw TokenizerError.malformedFile(
                path: path, line: line, reason: "token id \(id) is beyond any vocabulary (at most \(maxTokenId))")
        }
    }

    /// Parses a JSON object of token → id (vocab.json, or `model.vocab` in tokenizer.json).
    static func parseVocabObject(_ node: JSONNode?, path: String, what: String) throws -> [(token: String, id: Int32)] {
        guard let node else { throw TokenizerError.malformedFile(path: path, line: nil, reason: "missing \(what)") }
        guard let members = node.members else {
            throw TokenizerError.malformedFile(path: path, line: node.line, reason: "\(what) must be a JSON object of token → id")
        }
        var vocab: [(token: String, id: Int32)] = []
        vocab.reserveCapacity(members.count)
        for (token, value) in members {
            guard let id = value.int, id >= 0, id <= Int(Int32.max) else {
                throw TokenizerError.malformedFile(path: path, line: value.line,
                                                   reason: "id of \(String(reflecting: token)) in \(what) is not a non-negative integer")
            }
            try checkId(id, path: path, line: value.line)
            vocab.append((token, Int32(id)))
        }
        guard !vocab.isEmpty else { throw TokenizerError.malformedFile(path: path, line: node.line, reason: "\(what) is empty") }
        return vocab
    }

    /// A merges rule list (pairs of token spellings with their source line) → merge table.
    static func buildMerges(_ rules: [(left: String, right: String, line: Int)], vocab: ExactVocabulary,
                            path: String) throws -> PairMergeTable {
        var table = PairMergeTable(capacityFor: rules.count)
        for (rank, rule) in rules.enumerated() {
            guard let a = vocab[rule.left] else {
                throw TokenizerError.unknownMergeToken(path: path, line: rule.line, token: rule.left)
            }
            guard let b = vocab[rule.right] else {
                throw TokenizerError.unknownMergeToken(path: path, line: rule.line, token: rule.right)
            }
            guard let merged = vocab[rule.left + rule.right] else {
                throw TokenizerError.unknownMergeToken(path: path, line: rule.line, token: rule.left + rule.right)
            }
            table.insert(a, b, rank: Int32(rank), newId: merged)
        }
        return table
    }

    /// Byte → id through the byte-level alphabet (-1 where the vocabulary lacks the character).
    static func byteTable(_ vocab: ExactVocabulary) -> [Int32] {
        (0..<256).map { b in vocab[String(Character(ByteLevelAlphabet.characterForByte[b]))] ?? -1 }
    }

    /// Raw bytes → id for every entry spelled in the byte-level alphabet (for `ignore_merges`).
    static func rawByteVocabulary(_ vocab: [(token: String, id: Int32)]) -> ByteKeyTable {
        var table = ByteKeyTable(minimumCapacity: vocab.count)
        for (token, id) in vocab {
            if let bytes = ByteLevelAlphabet.bytes(forToken: token) { table.insert(bytes, value: Int64(id)) }
        }
        return table
    }

    /// Splits a merges line "a b" into its two tokens (exactly one separating space).
    /// Splits on scalars, not Characters: a space followed by a combining mark is one Character.
    static func splitMerge(_ line: String) -> (String, String)? {
        let parts = line.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(String.UnicodeScalarView(parts[0])), String(String.UnicodeScalarView(parts[1])))
    }
}

/// token → id keyed by exact UTF-8 bytes (Swift `String` keys would merge canonically
/// equivalent spellings, which distinct vocabulary entries may be).
struct ExactVocabulary {
    private var table: ByteKeyTable

    init(_ vocab: [(token: String, id: Int32)]) {
        table = ByteKeyTable(minimumCapacity: vocab.count)
        for (token, id) in vocab { table.insert(Array(token.utf8), value: Int64(id)) }
    }

    subscript(token: String) -> Int32? {
        table.value(Array(token.utf8)).map { Int32(truncatingIfNeeded: $0) }
    }
}
