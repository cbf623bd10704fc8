import Datasets
import Foundation
import Tokenizers

/// A request's JSON body, read strictly: valid UTF-8, one JSON object, known fields only, each of the
/// type the route documents. Strings come back byte for byte (Foundation's parser would drop a U+FEFF
/// that starts a text). Every problem is an `APIError.validation` naming the field.
struct RequestBody {
    let members: [String: JSONValue]

    init(_ bytes: [UInt8], allowed: Set<String>) throws {
        guard !bytes.isEmpty else { throw APIError.validation("the request body is empty: send a JSON object") }
        if let line = UTF8Check.firstInvalidLine(bytes) {
            throw APIError.validation("the request body is not valid UTF-8 (line \(line))")
        }
        do {
            members = try bytes.withUnsafeBufferPointer { try JSONLineParser.parseObject($0).members }
        } catch JSONLineParser.Failure.notAnObject {
            throw APIError.validation("the request body must be a JSON object")
        } catch JSONLineParser.Failure.syntax(let detail) {
            throw APIError.validation("the request body is not valid JSON: \(detail)")
        }
        if let unknown = members.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw APIError.validation("unknown field '\(unknown)' (this route takes \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = members[key], value != .null else { return nil }
        guard case .bool(let b) = value else { throw APIError.validation("'\(key)' must be true or false, not \(value.kindName)") }
        return b
    }

    func string(_ key: String) throws -> String? {
        guard let value = members[key], value != .null else { return nil }
        guard case .string(let s) = value else { throw APIError.validation("'\(key)' must be a string, not \(value.kindName)") }
        return s
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = members[key], value != .null else { return nil }
        guard case .integer(let digits) = value, let n = Int(digits), range.contains(n) else {
            throw APIError.validation("'\(key)' must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return n
    }

    func strings(_ key: String) throws -> [String]? {
        guard let value = members[key], value != .null else { return nil }
        guard case .array(let items) = value else { throw APIError.validation("'\(key)' must be an array of strings") }
        return try items.map {
            guard case .string(let s) = $0 else { throw APIError.validation("'\(key)' must be an array of strings") }
            return s
        }
    }

    /// `inputs`: a text, a list of texts, or a list of [text, text] pairs (a list may mix texts and pairs).
    /// `single` is true for a lone text, whose answer is not wrapped in a list.
    func inputs(pairs: Bool) throws -> (texts: [(String, String?)], single: Bool) {
        guard let value = members["inputs"] else { throw APIError.validation("missing field 'inputs'") }
        switch value {
        case .string(let s):
            return ([(s, nil)], true)
        case .array(let items):
            guard !items.isEmpty else { throw APIError.validation("'inputs' is an empty list") }
            let texts = try items.enumerated().map { i, item -> (String, String?) in
                switch item {
                case .string(let s): return (s, nil)
                case .array(let pair) where pairs:
                    guard pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] else {
                        throw APIError.validation("inputs[\(i)] must be a text or a pair [text, text]")
                    }
                    return (a, b)
                default:
                    throw APIError.validation("inputs[\(i)] must be a text\(pairs ? " or a pair [text, text]" : "")")
                }
            }
            return (texts, false)
        default:
            throw APIError.validation("'inputs' must be a text or a list of texts\(pairs ? " or pairs" : "")")
        }
    }
}
