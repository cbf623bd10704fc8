/// A JSON value as far as an input line needs it: strings, integers and arrays are kept exactly
/// (strings byte for byte: no Unicode normalisation, a leading U+FEFF stays), objects only by kind.
public enum JSONValue: Equatable, Sendable {
    case string(String)
    /// An integer literal (no fraction, no exponent), as written (JSON has no leading zeros, so
    /// this is already its canonical decimal form).
    case integer(String)
    /// Any other number literal, as written.
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object

    /// How error messages name the kind of a value.
    public var kindName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .number: return "a non-integer number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A strict RFC 8259 parser for one JSONL line that must hold an object. The top-level members
/// are returned (a repeated key keeps its last value, as Python's `json` does); nested objects are
/// fully checked but not kept. The bytes must already be valid UTF-8.
///
/// Hand-written because Foundation's `JSONSerialization` drops a U+FEFF inside a string, which HF's
/// tokenizers keep (as three byte tokens in byte-level BPE).
public struct JSONLineParser {
    public enum Failure: Error, Equatable {
        case notAnObject
        case syntax(String)
    }

    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { b = bytes }

    /// Parses `bytes` as one JSON object; the member names are in their order of first appearance.
    public static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>) throws -> (members: [String: JSONValue], keys: [String]) {
        var p = JSONLineParser(bytes)
        p.skipSpace()
        guard p.i < p.b.count else { throw Failure.syntax("empty line") }
        guard p.b[p.i] == UInt8(ascii: "{") else {
            // Check that it is valid JSON at all, so the message says the right thing.
            _ = try p.value()
            p.skipSpace()
            guard p.i == p.b.count else { throw Failure.syntax("unexpected text after the value at byte \(p.i + 1)") }
            throw Failure.notAnObject
        }
        p.i += 1
        var members: [String: JSONValue] = [:]
        var keys: [String] = []
        p.skipSpace()
        if p.peek() == UInt8(ascii: "}") {
            p.i += 1
        } else {
            while true {
                p.skipSpace()
                guard p.peek() == UInt8(ascii: "\"") else { throw p.error("expected a member name") }
                let key = try p.string()
                p.skipSpace()
                guard p.peek() == UInt8(ascii: ":") else { throw p.error("expected ':'") }
                p.i += 1
                let v = try p.value()
                if members.updateValue(v, forKey: key) == nil { keys.append(key) }
                p.skipSpace()
                switch p.peek() {
                case UInt8(ascii: ","): p.i += 1
                case UInt8(ascii: "}"): p.i += 1
                    p.skipSpace()
                    guard p.i == p.b.count else { throw p.error("unexpected text after the object") }
                    return (members, keys)
                default: throw p.error("expected ',' or '}'")
                }
            }
        }
        p.skipSpace()
        guard p.i == p.b.count else { throw p.error("unexpected text after the object") }
        return (members, keys)
    }

    private func peek() -> UInt8? { i < b.count ? b[i] : nil }

    private func error(_ what: String) -> Failure {
        .syntax(i < b.count ? "\(what) at byte \(i + 1)" : "\(what) at the end of the line")
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    private mutating func value() throws -> JSONValue {
        skipSpace()
        guard let c = peek() else { throw error("expected a value") }
        switch c {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"):
            _ = try container(close: UInt8(ascii: "}"))
            return .object
        case UInt8(ascii: "["):
            return .array(try container(close: UInt8(ascii: "]")))
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    /// Parses an object or array; an array's elements are returned (an object's are checked only).
    private mutating func container(close: UInt8) throws -> [JSONValue] {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 512 else { throw error("nested too deeply") }
        let isObject = close == UInt8(ascii: "}")
        var elements: [JSONValue] = []
        i += 1
        skipSpace()
        if peek() == close { i += 1; return elements }
        while true {
            if isObject {
                skipSpace()
                guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name") }
                _ = try string()
                skipSpace()
                guard peek() == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
            }
            let element = try value()
            if !isObject { elements.append(element) }
            skipSpace()
            if peek() == UInt8(ascii: ",") { i += 1; continue }
            if peek() == close { i += 1; return elements }
            throw error(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw error("invalid literal") }
        let w = word.utf8Start
        for k in 0..<n where b[i + k] != w[k] { throw error("invalid literal") }
        i += n
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        var integer = true
        if peek() == UInt8(ascii: "-") { i += 1 }
        guard let first = peek(), first >= 0x30, first <= 0x39 else { throw error("invalid number") }
        if first == 0x30 { i += 1 } else { digits() }
        if peek() == UInt8(ascii: ".") {
            integer = false
            i += 1
            guard let d = peek(), d >= 0x30, d <= 0x39 else { throw error("invalid number") }
            digits()
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            integer = false
            i += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i += 1 }
            guard let d = peek(), d >= 0x30, d <= 0x39 else { throw error("invalid number") }
            digits()
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        return integer ? .integer(text == "-0" ? "0" : text) : .number(text)
    }

    private mutating func digits() {
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
    }

    private mutating func string() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        var runStart = i
        while true {
            guard i < b.count else { throw error("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i]))
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[runStart..<i]))
            i += 1
            guard let e = peek() else { throw error("unterminated escape") }
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar), i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                    }
                }
                // A lone surrogate cannot be held by a Swift String: it becomes U+FFFD.
                let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                i -= 1
                throw error("invalid escape")
            }
            runStart = i
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw error("invalid \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}
