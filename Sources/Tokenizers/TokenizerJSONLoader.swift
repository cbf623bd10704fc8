import Foundation

/// Loads HF `tokenizer.json`, dispatching on `model.type` (not on `tokenizer_class`).
///
/// Supported: `BPE` with a `ByteLevel` pre-tokenizer and no normalizer; `WordPiece` with
/// `BertNormalizer` (or none) and `BertPreTokenizer`; post-processors `RobertaProcessing`,
/// `BertProcessing`, `TemplateProcessing`, `ByteLevel` and `Sequence`s of them. Anything else
/// throws `unsupportedModel` / `unsupportedComponent` instead of silently giving other ids.
enum TokenizerJSONLoader {
    static func load(_ url: URL, config: TokenizerConfig) throws -> Tokenizer {
        let file = try TextFile(url)
        let root = try JSONReader.parse(file)
        let path = file.path
        guard root.members != nil else {
            throw TokenizerError.malformedFile(path: path, line: root.line, reason: "expected a JSON object")
        }
        guard let model = root["model"], model.members != nil else {
            throw TokenizerError.malformedFile(path: path, line: nil, reason: "missing \"model\" object")
        }
        guard let type = model["type"]?.string ?? inferModelType(model) else {
            throw TokenizerError.malformedFile(path: path, line: model.line, reason: "model has no \"type\"")
        }
        let vocab = try VocabularyBuilder.parseVocabObject(model["vocab"], path: path, what: "model.vocab")
        let exact = ExactVocabulary(vocab)
        let added = try parseAddedTokens(root["added_tokens"], path: path)
        let post = try parsePostProcessor(root["post_processor"], path: path, vocab: exact)
        let padId = root["padding"]?["pad_id"]?.int.map { Int32(truncatingIfNeeded: $0) }

        switch type {
        case "BPE":
            try requireNull(root["normalizer"], component: "normalizer", path: path)
            let byteLevel = try parseByteLevelPreTokenizer(root["pre_tokenizer"], path: path)
            if let dropout = model["dropout"], !dropout.isNull {
                throw TokenizerError.unsupportedComponent(path: path, component: "BPE option", detail: "dropout")
            }
            for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
                if let s = model[key]?.string, !s.isEmpty {
                    throw TokenizerError.unsupportedComponent(path: path, component: "BPE option", detail: "\(key) \(String(reflecting: s))")
                }
            }
            if model["byte_fallback"]?.bool == true {
                throw TokenizerError.unsupportedComponent(path: path, component: "BPE option", detail: "byte_fallback")
            }
            let rules = try parseMerges(model["merges"], path: path)
            let merges = try VocabularyBuilder.buildMerges(rules, vocab: exact, path: path)
            let ignoreMerges = model["ignore_merges"]?.bool ?? false
            let unkId = model["unk_token"]?.string.flatMap { exact[$0] }
            let bpe = BPEModel(
                merges: merges, byteToId: VocabularyBuilder.byteTable(exact), unkId: unkId, ignoreMerges: ignoreMerges,
                rawVocab: ignoreMerges ? VocabularyBuilder.rawByteVocabulary(vocab) : nil,
                addPrefixSpace: byteLevel.addPrefixSpace, useRegex: byteLevel.useRegex)
            let pad = padId ?? exact[config.token("pad_token", default: "<pad>")] ?? exact["<|endoftext|>"] ?? 0
            return Tokenizer(kind: .byteLevelBPE, model: .bpe(bpe), vocabulary: vocab, addedTokens: added,
                             postProcessor: post, decoder: .byteLevel, padTokenId: pad,
                             cleanUpTokenizationSpaces: config.cleanUpTokenizationSpaces ?? false)
        case "WordPiece":
            let preprocessor = try parseBertNormalizer(root["normalizer"], path: path)
            try requireBertPreTokenizer(root["pre_tokenizer"], path: path)
            let unk = model["unk_token"]?.string ?? "[UNK]"
            guard let unkId = exact[unk] else {
                throw TokenizerError.malformedFile(path: path, line: model.line,
                                                   reason: "unk_token \(String(reflecting: unk)) is not in model.vocab")
            }
            let prefix = model["continuing_subword_prefix"]?.string ?? "##"
            let maxChars = model["max_input_chars_per_word"]?.int ?? 100
            let wordPiece = WordPieceModel(vocab: vocab, unkId: unkId, prefix: prefix, maxInputCharsPerWord: maxChars)
            var decoder = Tokenizer.Decoder.wordPiece(prefix: prefix, cleanup: true)
            if let d = root["decoder"], d["type"]?.string == "WordPiece" {
                decoder = .wordPiece(prefix: d["prefix"]?.string ?? prefix, cleanup: d["cleanup"]?.bool ?? true)
            }
            let pad = padId ?? exact[config.token("pad_token", default: "[PAD]")] ?? 0
            return Tokenizer(kind: .wordPiece, model: .wordPiece(wordPiece, preprocessor), vocabulary: vocab,
                             addedTokens: added, postProcessor: post, decoder: decoder, padTokenId: pad,
                             cleanUpTokenizationSpaces: config.cleanUpTokenizationSpaces ?? false)
        default:
            throw TokenizerError.unsupportedModel(path: path, type: type)
        }
    }

    /// Files written before `type` was serialised: BPE has merges, WordPiece a subword prefix.
    private static func inferModelType(_ model: JSONNode) -> String? {
        if model["merges"] != nil { return "BPE" }
        if model["continuing_subword_prefix"] != nil || model["max_input_chars_per_word"] != nil { return "WordPiece" }
        return nil
    }

    private static func requireNull(_ node: JSONNode?, component: String, path: String) throws {
        guard let node, !node.isNull else { return }
        throw TokenizerError.unsupportedComponent(path: path, component: component,
                                                  detail: node["type"]?.string ?? "non-null value")
    }

    /// Merges as "a b" strings (tokenizers < 0.20) or [a, b] pairs, each with its line.
    private static func parseMerges(_ node: JSONNode?, path: String) throws -> [(left: String, right: String, line: Int)] {
        guard let node else { return [] }
        guard let items = node.array else {
            throw TokenizerError.malformedFile(path: path, line: node.line, reason: "model.merges must be an array")
        }
        var rules: [(left: String, right: String, line: Int)] = []
        rules.reserveCapacity(items.count)
        for item in items {
            if let s = item.string, let (a, b) = VocabularyBuilder.splitMerge(s) {
                rules.append((a, b, item.line))
            } else if let pair = item.array, pair.count == 2, let a = pair[0].string, let b = pair[1].string {
                rules.append((a, b, item.line))
            } else {
                throw TokenizerError.malformedFile(path: path, line: item.line,
                                                   reason: "a merge must be \"a b\" or [\"a\", \"b\"]")
            }
        }
        return rules
    }

    private static func parseAddedTokens(_ node: JSONNode?, path: String) throws -> [AddedToken] {
        guard let node, !node.isNull else { return [] }
        guard let items = node.array else {
            throw TokenizerError.malformedFile(path: path, line: node.line, reason: "added_tokens must be an array")
        }
        return try items.map { item in
            guard let id = item["id"]?.int, id >= 0, id <= Int(Int32.max), let content = item["content"]?.string else {
                throw TokenizerError.malformedFile(path: path, line: item.line, reason: "an added token needs an id and a content")
            }
            try VocabularyBuilder.checkId(id, path: path, line: item.line)
            return AddedToken(content: content, id: Int32(id), special: item["special"]?.bool ?? false,
                              lstrip: item["lstrip"]?.bool ?? false, rstrip: item["rstrip"]?.bool ?? false,
                              singleWord: item["single_word"]?.bool ?? false)
        }
    }

    /// `ByteLevel`, or a `Sequence` holding only `ByteLevel`.
    private static func parseByteLevelPreTokenizer(_ node: JSONNode?, path: String) throws -> (addPrefixSpace: Bool, useRegex: Bool) {
        guard var node, !node.isNull else {
            throw TokenizerError.unsupportedComponent(path: path, component: "pre_tokenizer",
                                                      detail: "BPE without a ByteLevel pre-tokenizer")
        }
        if node["type"]?.string == "Sequence", let inner = node["pretokenizers"]?.array, inner.count == 1 {
            node = inner[0]
        }
        guard node["type"]?.string == "ByteLevel" else {
            throw TokenizerError.unsupportedComponent(path: path, component: "pre_tokenizer",
                                                      detail: node["type"]?.string ?? "unknown")
        }
        return (node["add_prefix_space"]?.bool ?? true, node["use_regex"]?.bool ?? true)
    }

    private static func parseBertNormalizer(_ node: JSONNode?, path: String) throws -> BertPreprocessor {
        guard let node, !node.isNull else {
            return BertPreprocessor(cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false)
        }
        guard node["type"]?.string == "BertNormalizer" else {
            throw TokenizerError.unsupportedComponent(path: path, component: "normalizer",
                                                      detail: node["type"]?.string ?? "unknown")
        }
        let lowercase = node["lowercase"]?.bool ?? true
        return BertPreprocessor(
            cleanText: node["clean_text"]?.bool ?? true,
            handleChineseChars: node["handle_chinese_chars"]?.bool ?? true,
            stripAccents: node["strip_accents"]?.bool ?? lowercase,
            lowercase: lowercase)
    }

    private static func requireBertPreTokenizer(_ node: JSONNode?, path: String) throws {
        let type = node?["type"]?.string
        guard type == "BertPreTokenizer" else {
            throw TokenizerError.unsupportedComponent(path: path, component: "pre_tokenizer",
                                                      detail: type ?? "WordPiece without BertPreTokenizer")
        }
    }

    private static func parsePostProcessor(_ node: JSONNode?, path: String, vocab: ExactVocabulary) throws -> PostProcessor {
        guard let node, !node.isNull else { return .none }
        func tokenId(_ field: String) throws -> Int32 {
            // Serialised as ["</s>", 2].
            guard let pair = node[field]?.array, pair.count == 2, let id = pair[1].int else {
                throw TokenizerError.malformedFile(path: path, line: node.line, reason: "post_processor.\(field) must be [token, id]")
            }
            return Int32(truncatingIfNeeded: id)
        }
        switch node["type"]?.string {
        case "RobertaProcessing":
            return .roberta(cls: try tokenId("cls"), sep: try tokenId("sep"), trimOffsets: node["trim_offsets"]?.bool ?? true)
        case "BertProcessing":
            return .bert(cls: try tokenId("cls"), sep: try tokenId("sep"))
        case "ByteLevel":
            var none = PostProcessor.none
            none.trimOffsets = node["trim_offsets"]?.bool ?? true
            return none
        case "TemplateProcessing":
            return try parseTemplate(node, path: path, vocab: vocab)
        case "Sequence":
            var result = PostProcessor.none
            var trim = false
            for inner in node["processors"]?.array ?? [] {
                if inner["type"]?.string == "ByteLevel" {
                    trim = trim || (inner["trim_offsets"]?.bool ?? true)
                } else {
                    result = try parsePostProcessor(inner, path: path, vocab: vocab)
                    trim = trim || result.trimOffsets
                }
            }
            result.trimOffsets = trim
            return result
        default:
            throw TokenizerError.unsupportedComponent(path: path, component: "post_processor",
                                                      detail: node["type"]?.string ?? "unknown")
        }
    }

    private static func parseTemplate(_ node: JSONNode, path: String, vocab: ExactVocabulary) throws -> PostProcessor {
        var specials: [String: [Int32]] = [:]
        for (name, entry) in node["special_tokens"]?.members ?? [] {
            specials[name] = (entry["ids"]?.array ?? []).compactMap { $0.int.map { Int32(truncatingIfNeeded: $0) } }
        }
        func pieces(_ field: String) throws -> [PostProcessor.Piece] {
            guard let items = node[field]?.array else {
                throw TokenizerError.malformedFile(path: path, line: node.line, reason: "TemplateProcessing needs \(field)")
            }
            return try items.map { item in
                if let special = item["SpecialToken"] {
                    let name = special["id"]?.string ?? ""
                    guard let ids = specials[name] ?? vocab[name].map({ [$0] }) else {
                        throw TokenizerError.malformedFile(path: path, line: item.line,
                                                           reason: "template special token \(String(reflecting: name)) is not defined")
                    }
                    return .special(ids: ids, typeId: Int32(special["type_id"]?.int ?? 0))
                }
                if let sequence = item["Sequence"] {
                    let typeId = Int32(sequence["type_id"]?.int ?? 0)
                    return sequence["id"]?.string == "B" ? .second(typeId: typeId) : .first(typeId: typeId)
                }
                throw TokenizerError.malformedFile(path: path, line: item.line, reason: "unknown template piece")
            }
        }
        return PostProcessor(single: try pieces("single"), pair: try pieces("pair"))
    }
}
