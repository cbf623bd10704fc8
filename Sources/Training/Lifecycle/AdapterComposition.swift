import Adapters

/// A composition written as in AdapterHub's Python — `Stack(lang, Fuse(a, b))`,
/// `Parallel(Stack(lang, a), Stack(lang, b))`, `Stack(lang, Average(a, b, weights=[0.7, 0.3]))`,
/// `Split(a, b, splits=[64, 64])`, `BatchSplit(a, b, batch_sizes=[2, 6])` — naming adapters a model holds. Block names
/// are case-insensitive and adapter names may be quoted.
///
/// What nests: a Stack holds adapters, Stacks (flattened, as in AdapterHub) and Fuse, Average and Split blocks of
/// adapters; Parallel and BatchSplit hold any of those as branches, at the top only — or, for a Parallel, as a
/// Stack's last member (`Stack(lang, Parallel(a, b))`, read as `Parallel(Stack(lang, a), Stack(lang, b))`, which is
/// what AdapterHub computes for it).
public enum AdapterComposition: Equatable, Sendable {
    /// One setup for `setActiveAdapters`.
    case setup(AdapterSetup)
    /// `parallelLogits`' branches.
    case parallel([AdapterSetup])
    /// `batchSplitLogits`' branches and their batch sizes.
    case batchSplit([AdapterSetup], sizes: [Int])

    /// Parses `text`; an error names what is wrong and where (the character offset).
    public init(parsing text: String) throws {
        var parser = Parser(text: Array(text))
        let node = try parser.expression()
        parser.skipSpaces()
        guard parser.atEnd else { throw parser.error("unexpected '\(parser.rest)' after the composition") }
        switch node {
        case .call("stack", let children, let options, _):
            try Self.only([], in: options, block: "Stack")
            // Stack(lang, Parallel(a, b)): AdapterHub runs the members before the Parallel once, then each branch on
            // their output (one pre_forward), which is Parallel(Stack(lang, a), Stack(lang, b)) exactly.
            if case .call(let last, let branches, let lastOptions, _)? = children.last, last == "parallel" {
                self = try Self.parallel(branches, options: lastOptions, after: Array(children.dropLast()))
            } else {
                self = .setup(try Self.setup(node))
            }
        case .call(let block, let children, let options, _) where block == "parallel":
            self = try Self.parallel(children, options: options)
        case .call(let block, let children, let options, _) where block == "batchsplit":
            try Self.only(["batch_sizes"], in: options, block: "BatchSplit")
            guard case .numbers(let sizes)? = options["batch_sizes"], sizes.allSatisfy({ $0 == $0.rounded() }) else {
                throw AdapterError.invalidSetup("BatchSplit needs batch_sizes=[N1, N2, …], one whole number per branch")
            }
            guard sizes.count == children.count, !children.isEmpty else {
                throw AdapterError.invalidSetup(
                    "BatchSplit has \(children.count) branches and \(sizes.count) batch sizes")
            }
            self = .batchSplit(try children.map(Self.setup), sizes: sizes.map { Int($0) })
        default:
            self = .setup(try Self.setup(node))
        }
    }

    /// A Parallel of `branches`, each run after the Stack members `prefix` (none for a Parallel on its own).
    private static func parallel(_ branches: [Node], options: [String: Option], after prefix: [Node] = []) throws
        -> AdapterComposition
    {
        try only([], in: options, block: "Parallel")
        guard branches.count >= 2 else { throw AdapterError.invalidSetup("Parallel needs at least 2 branches") }
        let before = try prefix.flatMap { try setup($0).blocks }
        return .parallel(try branches.map { AdapterSetup(blocks: before + (try setup($0).blocks)) })
    }

    /// The adapters the composition names, each once, in order of appearance.
    public var names: [String] {
        let setups: [AdapterSetup]
        switch self {
        case .setup(let setup): setups = [setup]
        case .parallel(let branches), .batchSplit(let branches, _): setups = branches
        }
        var seen: Set<String> = []
        return setups.flatMap(\.names).filter { seen.insert($0).inserted }
    }

    private static func setup(_ node: Node) throws -> AdapterSetup {
        switch node {
        case .name(let name):
            return AdapterSetup([name])
        case .call(let block, let children, let options, let spelled):
            switch block {
            case "stack":
                try only([], in: options, block: "Stack")
                guard !children.isEmpty else { throw AdapterError.invalidSetup("an empty Stack()") }
                return AdapterSetup(blocks: try children.flatMap { try setup($0).blocks })
            case "fuse":
                try only([], in: options, block: "Fuse")
                return .fuse(try names(children, block: "Fuse", atLeast: 2))
            case "average":
                try only(["weights", "normalize_weights"], in: options, block: "Average")
                let names = try names(children, block: "Average", atLeast: 1)
                var weights: [Float]?
                if let given = options["weights"] {
                    guard case .numbers(let values) = given else {
                        throw AdapterError.invalidSetup("Average's weights must be a list of numbers, [0.7, 0.3]")
                    }
                    weights = values.map { Float($0) }
                }
                var normalize = true
                if let given = options["normalize_weights"] {
                    guard case .flag(let value) = given else {
                        throw AdapterError.invalidSetup("Average's normalize_weights must be True or False")
                    }
                    normalize = value
                }
                return try .average(names, weights: weights, normalize: normalize)
            case "split":
                try only(["splits"], in: options, block: "Split")
                guard case .numbers(let splits)? = options["splits"], splits.allSatisfy({ $0 == $0.rounded() }) else {
                    throw AdapterError.invalidSetup("Split needs splits=[N1, N2, …], one whole number per adapter")
                }
                return try .split(try names(children, block: "Split", atLeast: 2), splits: splits.map { Int($0) })
            case "parallel", "batchsplit":
                throw AdapterError.invalidSetup(
                    "\(spelled) can only be the whole composition (its branches may be Stacks) or a Stack's last member, not inside another block"
                )
            default:
                throw AdapterError.invalidSetup(
                    "unknown composition block '\(spelled)': Stack, Fuse, Average, Split, Parallel or BatchSplit")
            }
        }
    }

    /// A Fuse's, Average's or Split's members: adapter names (AdapterHub also nests Stacks there; not supported here).
    private static func names(_ children: [Node], block: String, atLeast count: Int) throws -> [String] {
        let names = try children.map { child -> String in
            guard case .name(let name) = child else {
                throw AdapterError.invalidSetup("\(block)'s members must be adapter names here, not nested blocks")
            }
            return name
        }
        guard names.count >= count else {
            throw AdapterError.invalidSetup(
                "\(block) needs at least \(count) adapter\(count == 1 ? "" : "s"), got \(names.count)")
        }
        return names
    }

    private static func only(_ allowed: Set<String>, in options: [String: Option], block: String) throws {
        if let unknown = options.keys.sorted().first(where: { !allowed.contains($0) }) {
            let known = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
            throw AdapterError.invalidSetup("\(block) has no argument '\(unknown)' (it takes: \(known))")
        }
    }

    indirect enum Node {
        case name(String)
        /// A block (lower-cased), its members, its keyword arguments and the block's name as written.
        case call(String, [Node], [String: Option], spelled: String)
    }

    enum Option {
        case numbers([Double])
        case flag(Bool)
    }

    /// A recursive-descent reader of the Python-like syntax.
    struct Parser {
        let text: [Character]
        var index = 0

        var atEnd: Bool { index >= text.count }
        var rest: String { String(text[index...]) }

        func error(_ detail: String) -> AdapterError {
            .invalidSetup("composition, at character \(index + 1): \(detail)")
        }

        mutating func skipSpaces() {
            while index < text.count, text[index].isWhitespace { index += 1 }
        }

        mutating func accept(_ c: Character) -> Bool {
            skipSpaces()
            guard index < text.count, text[index] == c else { return false }
            index += 1
            return true
        }

        mutating func expect(_ c: Character) throws {
            guard accept(c) else { throw error(atEnd ? "expected '\(c)', the text ended" : "expected '\(c)'") }
        }

        /// A name: letters, digits, `_`, `-`, `.`, or any quoted text.
        mutating func word() throws -> String {
            skipSpaces()
            guard index < text.count else { throw error("expected a name, the text ended") }
            if text[index] == "\"" || text[index] == "'" {
                let quote = text[index]
                let start = index + 1
                guard let end = text[start...].firstIndex(of: quote) else { throw error("unterminated quoted name") }
                index = end + 1
                guard end > start else { throw error("an empty name") }
                return String(text[start..<end])
            }
            let start = index
            while index < text.count, text[index].isLetter || text[index].isNumber || "_-.+".contains(text[index]) {
                index += 1
            }
            guard index > start else { throw error("expected a name, found '\(text[index])'") }
            return String(text[start..<index])
        }

        mutating func expression() throws -> Node {
            skipSpaces()
            let quoted = index < text.count && (text[index] == "\"" || text[index] == "'")
            let name = try word()
            guard !quoted, accept("(") else { return .name(name) }
            var children: [Node] = []
            var options: [String: Option] = [:]
            if accept(")") { return .call(name.lowercased(), [], [:], spelled: name) }
            repeat {
                skipSpaces()
                let before = index
                let item = try expression()
                if case .name(let key) = item, accept("=") {
                    guard options[key] == nil else { throw error("'\(key)' is given twice") }
                    options[key] = try option()
                } else {
                    guard options.isEmpty else {
                        index = before
                        throw error("an adapter after keyword arguments")
                    }
                    children.append(item)
                }
            } while accept(",")
            try expect(")")
            return .call(name.lowercased(), children, options, spelled: name)
        }

        mutating func option() throws -> Option {
            if accept("[") {
                var values: [Double] = []
                if accept("]") { return .numbers([]) }
                repeat {
                    skipSpaces()
                    let start = index
                    let text = try word()
                    guard let value = Double(text), value.isFinite else {
                        index = start
                        throw error("'\(text)' is not a number")
                    }
                    values.append(value)
                } while accept(",")
                try expect("]")
                return .numbers(values)
            }
            let text = try word()
            switch text.lowercased() {
            case "true": return .flag(true)
            case "false": return .flag(false)
            default: throw error("expected a list [..] or True/False, found '\(text)'")
            }
        }
    }
}
