import Foundation

/// AdapterHub's configuration identifiers and config strings (`adapters.utils.parse_adapter_config_string`,
/// `ADAPTER_CONFIG_MAP`): `seq_bn`, `seq_bn[reduction_factor=8,non_linearity=gelu]`,
/// `lora[r=16,alpha=32,attn_matrices=[q,k,v]]`, `prefix_tuning|seq_bn` (a union).
///
/// Values are Python literals (`True`, `None`, `0.1`, `'gelu'`, `["q", "v"]`); as a convenience a bare word is
/// a string, so `attn_matrices=[q,k,v]` works where Python's `ast.literal_eval` would reject it.
extension AdapterConfig {
    /// Identifiers that SwiftAdapters builds, with AdapterHub's deprecated aliases.
    static let presets: [String: AdapterConfig] = [
        "seq_bn": .bottleneck(.seqBn), "pfeiffer": .bottleneck(.seqBn),
        "double_seq_bn": .bottleneck(.doubleSeqBn), "houlsby": .bottleneck(.doubleSeqBn),
        "par_bn": .bottleneck(.parBn), "parallel": .bottleneck(.parBn),
        "scaled_par_bn": .bottleneck(.scaledParBn), "scaled_parallel": .bottleneck(.scaledParBn),
        "lora": .lora(LoRAConfig()), "ia3": .lora(.ia3), "prompt_tuning": .promptTuning(PromptTuningConfig()),
        "dora": .lora(.dora), "prefix_tuning": .prefixTuning(PrefixTuningConfig()),
        "prefix_tuning_flat": .prefixTuning(.flatPreset), "mam": mam, "unipelt": unipelt,
        "loreft": .reft(.loreft), "vera": .lora(.vera), "dvora": .lora(.dvora), "adapterplus": .bottleneck(.adapterPlus), "noreft": .reft(.noreft), "direft": .reft(.direft),
        "compacter": .bottleneck(.compacter), "compacter++": .bottleneck(.compacterPlusPlus),
        "seq_bn_inv": .bottleneck(.seqBnInv), "pfeiffer+inv": .bottleneck(.seqBnInv),
        "double_seq_bn_inv": .bottleneck(.doubleSeqBnInv), "houlsby+inv": .bottleneck(.doubleSeqBnInv),
    ]

    /// AdapterHub identifiers whose methods are not implemented yet: named in the error instead of
    /// "unknown".
    static let notYetImplemented: Set<String> = [
        "mtl_lora",
    ]

    /// Every identifier `parse` accepts, sorted.
    public static var identifiers: [String] { presets.keys.sorted() }

    /// Parses an AdapterHub config string into a validated configuration. `source` names where the string
    /// came from in errors (e.g. "--method").
    public static func parse(_ string: String, source: String) throws -> AdapterConfig {
        let chunks = string.split(separator: "|", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var configs: [AdapterConfig] = []
        for chunk in chunks {
            configs.append(try parseOne(chunk, source: source))
        }
        let config = configs.count == 1 ? configs[0] : .union(configs)
        try config.validate(source: source)
        return config
    }

    static func parseOne(_ chunk: String, source: String) throws -> AdapterConfig {
        let name: String
        var arguments = ""
        if let open = chunk.firstIndex(of: "[") {
            guard chunk.hasSuffix("]") else {
                throw AdapterError.invalidConfig(source: source, detail: "'\(chunk)' opens '[' but does not end with ']'")
            }
            name = String(chunk[..<open]).trimmingCharacters(in: .whitespaces)
            arguments = String(chunk[chunk.index(after: open)..<chunk.index(before: chunk.endIndex)])
        } else {
            name = chunk
        }
        guard !name.isEmpty else {
            throw AdapterError.invalidConfig(source: source, detail: "empty method name in '\(chunk)'")
        }
        guard let preset = presets[name] else {
            if notYetImplemented.contains(name) {
                throw AdapterError.unsupported(source: source, field: "method", value: "\"\(name)\"")
            }
            throw AdapterError.invalidConfig(
                source: source, detail: "unknown method '\(name)' (known: \(identifiers.joined(separator: ", ")))")
        }
        let overrides = try PythonLiteral.keywordArguments(arguments, source: source)
        if overrides.isEmpty { return preset }
        return try preset.overriding(overrides, source: "\(source) \(name)")
    }

    /// This configuration with AdapterHub fields replaced (`AdapterConfig.replace` in Python); unknown
    /// field names and values of the wrong type are errors naming them.
    public func overriding(_ fields: [(String, Any)], source: String) throws -> AdapterConfig {
        let allowed: Set<String>
        let encoded: Data
        switch self {
        case .bottleneck(let c):
            allowed = Set(BottleneckConfig.CodingKeys.allCases.map(\.rawValue))
            encoded = try JSONEncoder().encode(c)
        case .lora(let c):
            allowed = Set(LoRAConfig.CodingKeys.allCases.map(\.rawValue))
            encoded = try JSONEncoder().encode(c)
        case .promptTuning(let c):
            allowed = Set(PromptTuningConfig.CodingKeys.allCases.map(\.rawValue))
            encoded = try JSONEncoder().encode(c)
        case .prefixTuning(let c):
            allowed = Set(PrefixTuningConfig.CodingKeys.allCases.map(\.rawValue))
            encoded = try JSONEncoder().encode(c)
        case .reft(let c):
            allowed = Set(ReftConfig.CodingKeys.allCases.map(\.rawValue))
            encoded = try JSONEncoder().encode(c)
        case .union:
            throw AdapterError.invalidConfig(
                source: source, detail: "fields apply to one member of a ConfigUnion: write e.g. lora[r=4]|seq_bn")
        }
        guard var dict = try JSONSerialization.jsonObject(with: encoded) as? [String: Any] else {
            throw AdapterError.invalidConfig(source: source, detail: "the configuration does not encode to an object")
        }
        for (key, value) in fields {
            guard allowed.contains(key) else {
                throw AdapterError.invalidConfig(
                    source: source, detail: "unknown field '\(key)' (fields: \(allowed.sorted().joined(separator: ", ")))")
            }
            dict[key] = value
        }
        return try Self.decode(dictionary: dict, source: source)
    }

    /// An AdapterHub `config` object (`adapter_config.json`'s "config", or a whole config file): its
    /// `architecture` picks the method ("lora" for LoRA and (IA)³, none or "bottleneck" for bottlenecks).
    public static func decode(dictionary dict: [String: Any], source: String) throws -> AdapterConfig {
        let architecture = dict["architecture"] as? String
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: dict)
        } catch {
            throw AdapterError.invalidConfig(source: source, detail: "not a JSON object")
        }
        do {
            switch architecture {
            case nil, "bottleneck": return .bottleneck(try JSONDecoder().decode(BottleneckConfig.self, from: data))
            case "lora": return .lora(try JSONDecoder().decode(LoRAConfig.self, from: data))
            case "prompt_tuning": return .promptTuning(try JSONDecoder().decode(PromptTuningConfig.self, from: data))
            case "prefix_tuning": return .prefixTuning(try JSONDecoder().decode(PrefixTuningConfig.self, from: data))
            case "reft": return .reft(try JSONDecoder().decode(ReftConfig.self, from: data))
            case "union":
                guard let configs = dict["configs"] as? [Any] else {
                    throw AdapterError.invalidConfig(source: source, detail: "a ConfigUnion without a 'configs' list")
                }
                return .union(
                    try configs.enumerated().map { i, member in
                        guard let d = member as? [String: Any] else {
                            throw AdapterError.invalidConfig(source: source, detail: "configs[\(i)] is not an object")
                        }
                        return try decode(dictionary: d, source: "\(source) configs[\(i)]")
                    })
            case let other?: throw AdapterError.unsupported(source: source, field: "architecture", value: "\"\(other)\"")
            }
        } catch let error as DecodingError {
            throw AdapterError.invalidConfig(source: source, detail: decodingErrorText(error))
        }
    }
}

/// The subset of Python literals that config strings use, parsed without evaluating anything.
enum PythonLiteral {
    /// `key=value, key2=[a, b]` → ordered pairs.
    static func keywordArguments(_ text: String, source: String) throws -> [(String, Any)] {
        var parser = Parser(chars: Array(text), source: source)
        var out: [(String, Any)] = []
        parser.skipSpaces()
        while !parser.atEnd {
            let key = parser.word()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw parser.error("expected a field name")
            }
            parser.skipSpaces()
            guard parser.take("=") else { throw parser.error("expected '=' after '\(key)'") }
            let value = try parser.value()
            if out.contains(where: { $0.0 == key }) { throw parser.error("field '\(key)' is given twice") }
            out.append((key, value))
            parser.skipSpaces()
            if parser.atEnd { break }
            guard parser.take(",") else { throw parser.error("expected ',' between fields") }
            parser.skipSpaces()
        }
        return out
    }

    struct Parser {
        let chars: [Character]
        let source: String
        var i = 0

        var atEnd: Bool { i >= chars.count }

        func error(_ what: String) -> AdapterError {
            .invalidConfig(source: source, detail: "\(what) at character \(i + 1) of '\(String(chars))'")
        }

        mutating func skipSpaces() { while i < chars.count, chars[i].isWhitespace { i += 1 } }

        mutating func take(_ c: Character) -> Bool {
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
            return true
        }

        /// Characters up to a delimiter, trimmed.
        mutating func word() -> String {
            let start = i
            while i < chars.count, !",=[]()\"'{}".contains(chars[i]) { i += 1 }
            return String(chars[start..<i]).trimmingCharacters(in: .whitespaces)
        }

        mutating func value() throws -> Any {
            skipSpaces()
            guard i < chars.count else { throw error("expected a value") }
            let c = chars[i]
            if c == "[" || c == "(" {
                let close: Character = c == "[" ? "]" : ")"
                i += 1
                var items: [Any] = []
                skipSpaces()
                if take(close) { return items }
                while true {
                    items.append(try value())
                    skipSpaces()
                    if take(close) { return items }
                    guard take(",") else { throw error("expected ',' or '\(close)' in a list") }
                    skipSpaces()
                    if take(close) { return items }  // a trailing comma
                }
            }
            if c == "\"" || c == "'" {
                i += 1
                var s = ""
                while i < chars.count, chars[i] != c {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    s.append(chars[i])
                    i += 1
                }
                guard take(c) else { throw error("unterminated string") }
                return s
            }
            if c == "{" { throw error("mappings (e.g. per-layer reduction factors) are not supported") }
            let token = word()
            guard !token.isEmpty else { throw error("expected a value") }
            switch token {
            case "True", "true": return true
            case "False", "false": return false
            case "None", "null": return NSNull()
            default:
                if let n = Int(token) { return n }
                if let d = Double(token), d.isFinite { return d }
                return token
            }
        }
    }
}
