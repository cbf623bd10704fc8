import Foundation

/// What went wrong with a file operation, in one short phrase: the operating system's own words
/// ("No space left on device", "Permission denied") rather than Foundation's description, which
/// spells out the whole error dictionary with its temporary paths.
public func fileErrorText(_ error: Error) -> String {
    var current: Error? = error
    while let e = current {
        if let posix = e as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let ns = e as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        current = ns.userInfo[NSUnderlyingErrorKey] as? Error
    }
    return (error as NSError).localizedDescription
}
