import Foundation
import ModelIO

/// Compact JSON for output lines. Floats print in Swift's shortest round-trip form (`0.1`, not
/// `0.10000000149011612` as a Double conversion would).
public enum JSONLines {
    public static func string(_ s: String) -> String { SafetensorsWriter.jsonString(s) }

    public static func number(_ x: Float) -> String {
        x.isFinite ? "\(x)" : "null"
    }

    public static func array(_ xs: [Float]) -> String {
        "[" + xs.map(number).joined(separator: ",") + "]"
    }

    public static func array(_ xs: [Int32]) -> String {
        "[" + xs.map { String($0) }.joined(separator: ",") + "]"
    }
}

/// Writes lines to a file (atomically, on `finish`) or to standard output.
public final class OutputSink {
    private let url: URL?
    private var buffer = Data()

    /// - Parameter path: nil or "-" for standard output.
    public init(path: String?) throws {
        if let path, path != "-" {
            let url = URL(fileURLWithPath: path)
            var isDir: ObjCBool = false
            let folder = url.deletingLastPathComponent().path
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
                throw InferenceError.invalidInput(path: path, line: nil, detail: "its folder does not exist")
            }
            self.url = url
        } else {
            url = nil
        }
    }

    public func write(_ line: String) {
        if url == nil {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        } else {
            buffer.append(contentsOf: Array((line + "\n").utf8))
        }
    }

    /// Moves the collected lines into place (temp file + rename) so a failed run leaves no half file.
    public func finish() throws {
        guard let url else { return }
        try AtomicFile.write(buffer, to: url)
    }
}
