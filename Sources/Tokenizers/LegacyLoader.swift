import Foundation

/// Loads the pre-`tokenizer.json` formats: `vocab.json` + `merges.txt` (GPT-2 / RoBERTa) and
/// `vocab.txt` (BERT), configured the way transformers' `RobertaTokenizer(Fast)` and
/// `BertTokenizer(Fast)` configure them.
enum LegacyLoader {
    /// Byte-level BPE with RoBERTa's special tokens (`<s>` `<pad>` `</s>` `<unk>` `<mask>`, the
    /// mask swallowing spaces on its left) and `<s> A </s></s> B </s>` post-processing.
    static func loadByteLevelBPE(vocab vocabURL: URL, merges mergesURL: URL, addedTokens addedURL: URL,
                                 config: TokenizerConfig) throws -> Tokenizer {
        let vocabFile = try TextFile(vocabURL)
        let vocab = try VocabularyBuilder.parseVocabObject(try JSONReader.parse(vocabFile), path: vocabFile.path,
                                                           what: "vocabulary")
        let exact = ExactVocabulary(vocab)
        let mergesFile = try TextFile(mergesURL)
        var rules: [(left: String, right: String, line: Int)] = []
        for (number, text) in mergesFile.lines() {
            // Only a first line starting with "#version" is a header, whatever follows it.
            if number == 1 && text.utf8.starts(with: "#version".utf8) { continue }
            if text.isEmpty { continue }
            guard let (a, b) = VocabularyBuilder.splitMerge(text) else {
                throw TokenizerError.malformedFile(path: mergesFile.path, line: number,
                                                   reason: "a merge rule must be two tokens separated by one space")
            }
            rules.append((a, b, number))
        }
        let merges = try VocabularyBuilder.buildMerges(rules, vocab: exact, path: mergesFile.path)

        let roles: [(role: String, spelling: String, lstrip: Bool)] = [
            ("bos_token", "<s>", false), ("pad_token", "<pad>", false), ("eos_token", "</s>", false),
            ("unk_token", "<unk>", false), ("mask_token", "<mask>", true),
        ]
        var added: [AddedToken] = []
        for (role, spelling, lstrip) in roles {
            let content = config.token(role, default: spelling)
            if let id = exact[content], !added.contains(where: { $0.id == id }) {
                added.append(AddedToken(content: content, id: id, special: true, lstrip: lstrip))
            }
        }
        added = try mergeAddedTokens(added, config: config, file: addedURL)

        let cls = exact[config.token("cls_token", default: "<s>")]
        let sep = exact[config.token("sep_token", default: "</s>")]
        let post: PostProcessor = if let cls, let sep { .roberta(cls: cls, sep: sep) } else { .none }
        let model = BPEModel(
            merges: merges, byteToId: VocabularyBuilder.byteTable(exact), unkId: nil, ignoreMerges: false,
            rawVocab: nil, addPrefixSpace: config.addPrefixSpace ?? false, useRegex: true)
        let pad = exact[config.token("pad_token", default: "<pad>")] ?? exact["<|endoftext|>"] ?? 0
        return Tokenizer(kind: .byteLevelBPE, model: .bpe(model), vocabulary: vocab, addedTokens: added,
                         postProcessor: post, decoder: .byteLevel, padTokenId: pad,
                         cleanUpTokenizationSpaces: config.cleanUpTokenizationSpaces ?? false)
    }

    /// WordPiece from `vocab.txt` (one token per line, id = line index) with BERT's basic
    /// tokenizer options from `tokenizer_config.json` and `[CLS] A [SEP] B [SEP]`.
    static func loadWordPiece(vocab vocabURL: URL, addedTokens addedURL: URL, config: TokenizerConfig) throws -> Tokenizer {
        let file = try TextFile(vocabURL)
        var vocab: [(token: String, id: Int32)] = []
        // Like transformers' `load_vocab`: only the newline is stripped, so "\r" or trailing
        // spaces stay part of the token.
        for (number, text) in file.lines() {
            vocab.append((text, Int32(number - 1)))
        }
        guard !vocab.isEmpty else {
            throw TokenizerError.malformedFile(path: file.path, line: nil, reason: "the vocabulary is empty")
        }
        let exact = ExactVocabulary(vocab)
        let unk = config.token("unk_token", default: "[UNK]")
        guard let unkId = exact[unk] else {
            throw TokenizerError.malformedFile(path: file.path, line: nil,
                                               reason: "unknown token \(String(reflecting: unk)) is not in the vocabulary")
        }
        var added: [AddedToken] = []
        for (role, spelling) in [("pad_token", "[PAD]"), ("unk_token", "[UNK]"), ("cls_token", "[CLS]"),
                                 ("sep_token", "[SEP]"), ("mask_token", "[MASK]")] {
            let content = config.token(role, default: spelling)
            if let id = exact[content], !added.contains(where: { $0.id == id }) {
                added.append(AddedToken(content: content, id: id, special: true))
            }
        }
        added = try mergeAddedTokens(added, config: config, file: addedURL)
        let lowercase = config.doLowerCase ?? true
        let preprocessor = BertPreprocessor(
            cleanText: true, handleChineseChars: config.tokenizeChineseChars ?? true,
            stripAccents: config.stripAccents ?? lowercase, lowercase: lowercase)
        let model = WordPieceModel(vocab: vocab, unkId: unkId, prefix: "##", maxInputCharsPerWord: 100)
        let cls = exact[config.token("cls_token", default: "[CLS]")]
        let sep = exact[config.token("sep_token", default: "[SEP]")]
        let post: PostProcessor = if let cls, let sep { .bert(cls: cls, sep: sep) } else { .none }
        return Tokenizer(kind: .wordPiece, model: .wordPiece(model, preprocessor), vocabulary: vocab,
                         addedTokens: added, postProcessor: post, decoder: .wordPiece(prefix: "##", cleanup: true),
                         padTokenId: exact[config.token("pad_token", default: "[PAD]")] ?? 0,
                         // BertTokenizer's default; the tokenizer.json path defaults to false.
                         cleanUpTokenizationSpaces: config.cleanUpTokenizationSpaces ?? true)
    }

    /// Adds `added_tokens_decoder` entries of the config and `added_tokens.json` (content → id,
    /// non-special) to `base`, keeping the first entry per id.
    static func mergeAddedTokens(_ base: [AddedToken], config: TokenizerConfig, file: URL) throws -> [AddedToken] {
        var result = base
        func add(_ token: AddedToken) {
            if let i = result.firstIndex(where: { $0.id == token.id }) {
                // The config's flags (e.g. `lstrip` of `<mask>`) override the defaults.
                if result[i].content == token.content { result[i] = token }
            } else {
                result.append(token)
            }
        }
        config.addedTokens.forEach(add)
        guard FileManager.default.fileExists(atPath: file.path) else { return result }
        let text = try TextFile(file)
        let root = try JSONReader.parse(text)
        guard let members = root.members else {
            throw TokenizerError.malformedFile(path: text.path, line: root.line, reason: "expected a JSON object of token → id")
        }
        for (content, node) in members {
            guard let id = node.int, id >= 0, id <= Int(Int32.max) else {
                throw TokenizerError.malformedFile(path: text.path, line: node.line,
                                                   reason: "id of \(String(reflecting: content)) is not a non-negative integer")
            }
            add(AddedToken(content: content, id: Int32(id), special: false))
        }
        return result
    }
}
