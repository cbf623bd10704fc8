import Foundation

/// What went wrong with a file operation, in one short phrase: the operating system's own words
/// ("No space left on device", "Permission denied") rather than Foundation's description, which
/// spells out the whole error dictionary with its temporary paths.
func fileErrorText(_ error: Error) -> String {
    var current: Error? = error
    while let e = current {
        if let posix = e as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let ns = e as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        current = ns.userInfo[NSUnderlyingErrorKey] as? Error
    }
    return (error as NSError).localizedDescription
}

/// A decoding failure in one line: what was wrong and where (`step: expected a number`).
func decodingErrorText(_ error: DecodingError) -> String {
    func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context): return "'\(path(context.codingPath + [key]))' is missing"
    case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(type)"
    case .valueNotFound(let type, let context): return "\(path(context.codingPath)): expected \(type), found null"
    case .dataCorrupted(let context):
        let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return "\(path(context.codingPath)): \(underlying ?? context.debugDescription)"
    @unknown default: return "\(error)"
    }
}
