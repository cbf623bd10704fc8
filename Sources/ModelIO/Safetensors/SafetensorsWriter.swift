import Foundation

/// Writes f32 tensors as a `.safetensors` file, atomically (temp file in the same folder, then
/// rename), with tensors sorted by name as the reference implementation does.
public enum SafetensorsWriter {
    public struct Tensor: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// The file's bytes: header padded with spaces to a multiple of 8, then the data.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> Data {
        let sorted = tensors.sorted { $0.name < $1.name }
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for t in sorted {
            let bytes = t.values.count * 4
            parts.append(
                "\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var data = Data()
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for t in sorted {
            t.values.withUnsafeBufferPointer { buf in
                var le = buf.map { $0.bitPattern.littleEndian }
                le.withUnsafeMutableBytes { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try AtomicFile.write(encode(tensors, metadata: metadata), to: url)
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

/// Atomic file replacement: the bytes go to a temporary file beside the target, are flushed,
/// and the temporary is renamed over the target, so readers see the old file or the new one,
/// never a half-written one.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        let temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString)")
        do {
            try data.write(to: temp, options: [])
            let handle = try FileHandle(forWritingTo: temp)
            try handle.synchronize()
            try handle.close()
            if rename(temp.path, url.path) != 0 {
                throw ModelIOError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch let error as ModelIOError {
            try? FileManager.default.removeItem(at: temp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw ModelIOError.writeFailed(path: url.path, reason: error.localizedDescription)
        }
    }
}
