import Foundation

/// What every fuzz target needs: the input written as a file (the parsers under test read files,
/// most through memory maps) in a scratch folder of this process on a tmpfs when there is one, and
/// inputs made of several files split at NUL bytes.
public enum FuzzInput {
    /// `/dev/shm/swift-adapters-fuzz-PID` (else the temporary folder), created once.
    public static let folder: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("swift-adapters-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: FuzzInput.folder) }
        return url
    }()

    /// Writes `bytes` to `name` in the scratch folder (replacing it) and returns the path.
    @discardableResult
    public static func write(_ bytes: UnsafeRawBufferPointer, name: String) -> String {
        let path = folder.appendingPathComponent(name).path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd >= 0 {
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 { break }
                offset += n
            }
            close(fd)
        }
        return path
    }

    @discardableResult
    public static func write(_ bytes: [UInt8], name: String) -> String {
        bytes.withUnsafeBytes { write($0, name: name) }
    }

    /// Deletes `name` from the scratch folder if present (a file an earlier input wrote).
    public static func remove(_ name: String) {
        unlink(folder.appendingPathComponent(name).path)
    }

    /// The input's first `parts − 1` NUL-separated pieces and the rest (missing pieces are empty).
    public static func split(_ data: UnsafePointer<UInt8>, _ size: Int, parts: Int) -> [[UInt8]] {
        let all = UnsafeBufferPointer(start: data, count: size)
        var pieces: [[UInt8]] = []
        var start = 0
        while pieces.count < parts - 1, let nul = all[start...].firstIndex(of: 0) {
            pieces.append(Array(all[start..<nul]))
            start = nul + 1
        }
        pieces.append(Array(all[min(start, size)...]))
        while pieces.count < parts { pieces.append([]) }
        return pieces
    }

    /// The input as a string when it is valid UTF-8.
    public static func string(_ data: UnsafePointer<UInt8>, _ size: Int) -> String? {
        String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    }
}

/// libFuzzer's driver (`-sanitize=fuzzer` links it): runs `callback` on generated inputs.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// A fuzz target's entry point: SwiftPM links an executable's `main` to `<Module>_main`, which each
/// target defines to hand its arguments and input callback to libFuzzer.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, callback)
}
