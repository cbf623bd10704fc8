import FileMapping
import Foundation
import Tokenizers

/// An on-disk, memory-mapped cache of a tokenized dataset, so that a dataset of millions of texts
/// is tokenized once (on all cores, streaming, with bounded memory) and then reused by every run
/// with the same data, tokenizer and `max_length`.
///
/// File layout (little-endian): a 64-byte header — magic `SATOKV01`, then UInt64 count, tokens,
/// flags (bit 0: segment ids present), max_length, key, labels offset, offsets offset — followed by
/// the token ids `[tokens]` Int32 (and segment ids, same size), the labels `[count]` Int32, and the
/// sequence offsets `[count + 1]` Int64 (8-aligned). A cache is written beside its final name and
/// renamed into place only when complete: a killed build leaves no half file behind.
public enum TokenCache {
    static let magic = Array("SATOKV01".utf8)
    static let headerSize = 64

    /// FNV-1a 64 over `parts` (each terminated, so `["ab", "c"]` ≠ `["a", "bc"]`): what identifies
    /// a cache — dataset files or revision, columns, tokenizer fingerprint, max_length.
    public static func key(_ parts: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// The cache file's name for `key`.
    public static func fileName(key: UInt64) -> String { String(format: "%016llx.tokens", key) }

    /// A fingerprint of files' contents (tokenizer files): any change to them changes it.
    public static func fingerprint(files: [URL]) -> String {
        var parts: [String] = []
        for url in files {
            guard let mapped = try? MappedFile(path: url.path) else { continue }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            let bytes = mapped.base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<mapped.size { hash = (hash ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01b3 }
            parts.append("\(url.lastPathComponent):\(mapped.size):\(hash)")
        }
        return parts.joined(separator: ",")
    }

    /// The cached dataset at `url`, checked against `key` and `numLabels`; nil when there is no file.
    ///
    /// - Throws: ``DatasetError/corruptCache(file:detail:)`` for a truncated or inconsistent file.
    public static func load(_ url: URL, key: UInt64, numLabels: Int) throws -> TokenizedDataset? {
        let path = url.path
        let mapping: MappedFile
        do throws(MappedFileError) {
            mapping = try MappedFile(path: path)
        } catch .notFound {
            return nil
        } catch .unreadable(_, let reason) {
            throw DatasetError.unreadableFile(file: path, reason: reason)
        }
        func corrupt(_ detail: String) -> DatasetError { .corruptCache(file: path, detail: detail) }
        guard mapping.size >= headerSize else { throw corrupt("\(mapping.size) bytes, shorter than its header") }
        let raw = mapping.base
        guard (0..<8).allSatisfy({ raw.load(fromByteOffset: $0, as: UInt8.self) == magic[$0] }) else {
            throw corrupt("bad magic")
        }
        func field(_ i: Int) -> UInt64 {
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 + 8 * i, as: UInt64.self))
        }
        let (count, tokens, flags, maxLength, storedKey) = (field(0), field(1), field(2), field(3), field(4))
        let (labelsAt, offsetsAt) = (field(5), field(6))
        guard storedKey == key else { throw corrupt("written for another dataset or tokenizer") }
        guard count > 0, count < 1 << 40, tokens < 1 << 40, maxLength < 1 << 31 else {
            throw corrupt("implausible sizes (\(count) sequences, \(tokens) tokens)")
        }
        let hasTypes = flags & 1 == 1
        let idsBytes = 4 * Int(tokens)
        let expectedLabelsAt = headerSize + idsBytes * (hasTypes ? 2 : 1)
        let expectedOffsetsAt = (expectedLabelsAt + 4 * Int(count) + 7) / 8 * 8
        guard labelsAt == expectedLabelsAt, offsetsAt == expectedOffsetsAt,
            mapping.size == expectedOffsetsAt + 8 * (Int(count) + 1)
        else { throw corrupt("\(mapping.size) bytes do not match its header (truncated?)") }
        let ids = (raw + headerSize).assumingMemoryBound(to: Int32.self)
        let offsets = (raw + Int(offsetsAt)).assumingMemoryBound(to: Int64.self)
        let labels = (raw + Int(labelsAt)).assumingMemoryBound(to: Int32.self)
        guard offsets[0] == 0, offsets[Int(count)] == Int64(tokens) else {
            throw corrupt("offsets do not span the tokens")
        }
        for i in 0..<Int(count) {
            guard offsets[i + 1] >= offsets[i] else { throw corrupt("offsets decrease at sequence \(i)") }
            guard labels[i] >= 0, labels[i] < numLabels else {
                throw corrupt("label \(labels[i]) of sequence \(i) is outside the head's \(numLabels) labels")
            }
        }
        let store = TokenStore(
            mapping: mapping, count: Int(count), tokenCount: Int(tokens), ids: ids,
            typeIds: hasTypes ? ids + Int(tokens) : nil, offsets: offsets, labels: labels)
        return TokenizedDataset(store: store, maxLength: maxLength == 0 ? nil : Int(maxLength))
    }

    /// Tokenizes the examples that `next` returns chunk by chunk (nil at the end) on all cores and
    /// writes them to `url`; memory stays bounded by one chunk plus 12 bytes an example.
    ///
    /// - Parameters:
    ///   - source: names the data in errors (`labelOutsideHead` gives the 1-based example number).
    ///   - progress: called after each chunk with the examples done so far.
    public static func build(
        at url: URL, key: UInt64, tokenizer: Tokenizer, labelMap: LabelMap, maxLength: Int, source: String,
        progress: ((Int) -> Void)? = nil, next: () throws -> [Example]?
    ) throws -> TokenizedDataset {
        let writer = try Writer(url: url, key: key, maxLength: maxLength, typeIds: tokenizer.usesTokenTypeIds)
        do {
            let lookup = labelMap.lookup()
            let options = EncodeOptions(addSpecialTokens: true, maxLength: maxLength, truncation: true, padding: .none)
            while let chunk = try next() {
                var labels: [Int32] = []
                labels.reserveCapacity(chunk.count)
                for (k, example) in chunk.enumerated() {
                    guard let id = lookup(example.label) else {
                        throw DatasetError.labelOutsideHead(
                            file: source, line: writer.count + k + 1, label: example.label)
                    }
                    labels.append(Int32(id))
                }
                let pairs = chunk.contains { $0.textPair != nil } ? chunk.map { $0.textPair ?? "" } : nil
                let encodings = tokenizer.encodeBatch(chunk.map(\.text), pairs: pairs, options: options)
                try writer.append(encodings, labels: labels)
                progress?(writer.count)
            }
            guard writer.count > 0 else { throw DatasetError.emptyDataset(file: source) }
            try writer.finish()
        } catch {
            writer.discard()
            throw error
        }
        guard let dataset = try load(url, key: key, numLabels: labelMap.count) else {
            throw DatasetError.cacheWriteFailed(file: url.path, reason: "the finished cache disappeared")
        }
        return dataset
    }

    /// Appends sequences to a cache under construction.
    final class Writer {
        let url: URL
        let key: UInt64
        let maxLength: Int
        private let temp: URL
        private let typesTemp: URL?
        private let handle: FileHandle
        private let typesHandle: FileHandle?
        private var offsets: [Int64] = [0]
        private var labels: [Int32] = []
        var count: Int { labels.count }

        /// Temporaries of this cache file that a killed build left behind: untouched for an hour. A build
        /// still running writes its temporary continuously, and other processes may share the folder, so
        /// only age tells an abandoned one apart.
        static func removeAbandonedTemporaries(of url: URL, olderThan seconds: TimeInterval = 3600) {
            let fm = FileManager.default
            let folder = url.deletingLastPathComponent()
            let name = url.lastPathComponent
            let names = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
            for n in names where n.hasPrefix(".\(name).tmp-") || n.hasPrefix(".\(name).types-") {
                let path = folder.appendingPathComponent(n)
                guard let modified = (try? fm.attributesOfItem(atPath: path.path))?[.modificationDate] as? Date,
                    Date().timeIntervalSince(modified) > seconds
                else { continue }
                try? fm.removeItem(at: path)
            }
        }

        init(url: URL, key: UInt64, maxLength: Int, typeIds: Bool) throws {
            self.url = url
            self.key = key
            self.maxLength = maxLength
            let folder = url.deletingLastPathComponent()
            let tag = UUID().uuidString
            temp = folder.appendingPathComponent(".\(url.lastPathComponent).tmp-\(tag)")
            typesTemp = typeIds ? folder.appendingPathComponent(".\(url.lastPathComponent).types-\(tag)") : nil
            let fm = FileManager.default
            do {
                try fm.createDirectory(at: folder, withIntermediateDirectories: true)
                Self.removeAbandonedTemporaries(of: url)
                guard fm.createFile(atPath: temp.path, contents: Data(count: TokenCache.headerSize)) else {
                    throw DatasetError.cacheWriteFailed(file: url.path, reason: "cannot create \(temp.path)")
                }
                handle = try FileHandle(forWritingTo: temp)
                try handle.seekToEnd()
                if let typesTemp {
                    guard fm.createFile(atPath: typesTemp.path, contents: nil) else {
                        throw DatasetError.cacheWriteFailed(file: url.path, reason: "cannot create \(typesTemp.path)")
                    }
                    typesHandle = try FileHandle(forWritingTo: typesTemp)
                } else {
                    typesHandle = nil
                }
            } catch let error as DatasetError {
                try? fm.removeItem(at: temp)
                if let typesTemp { try? fm.removeItem(at: typesTemp) }
                throw error
            } catch {
                try? fm.removeItem(at: temp)
                if let typesTemp { try? fm.removeItem(at: typesTemp) }
                throw DatasetError.cacheWriteFailed(file: url.path, reason: error.localizedDescription)
            }
        }

        func append(_ encodings: [Encoding], labels newLabels: [Int32]) throws {
            var ids: [Int32] = []
            var types: [Int32] = []
            ids.reserveCapacity(encodings.reduce(0) { $0 + $1.ids.count })
            for e in encodings {
                ids.append(contentsOf: e.ids)
                if typesHandle != nil {
                    types.append(contentsOf: e.typeIds.isEmpty ? Array(repeating: 0, count: e.ids.count) : e.typeIds)
                }
                offsets.append((offsets.last ?? 0) + Int64(e.ids.count))
            }
            labels.append(contentsOf: newLabels)
            try write(ids, to: handle)
            if let typesHandle { try write(types, to: typesHandle) }
        }

        private func write<T>(_ values: [T], to handle: FileHandle) throws {
            do {
                try handle.write(contentsOf: values.withUnsafeBytes { Data($0) })
            } catch {
                throw DatasetError.cacheWriteFailed(file: url.path, reason: error.localizedDescription)
            }
        }

        func finish() throws {
            do {
                if let typesHandle, let typesTemp {
                    try typesHandle.close()
                    let reader = try FileHandle(forReadingFrom: typesTemp)
                    while let block = try reader.read(upToCount: 1 << 24), !block.isEmpty {
                        try handle.write(contentsOf: block)
                    }
                    try reader.close()
                }
                let tokens = Int(offsets.last ?? 0)
                let labelsAt = TokenCache.headerSize + 4 * tokens * (typesHandle == nil ? 1 : 2)
                try write(labels, to: handle)
                let offsetsAt = (labelsAt + 4 * labels.count + 7) / 8 * 8
                try handle.write(contentsOf: Data(count: offsetsAt - labelsAt - 4 * labels.count))
                try write(offsets.map { $0.littleEndian }, to: handle)
                var header = Data(TokenCache.magic)
                for value in [
                    UInt64(labels.count), UInt64(tokens), typesHandle == nil ? 0 : 1, UInt64(maxLength), key,
                    UInt64(labelsAt), UInt64(offsetsAt),
                ] {
                    withUnsafeBytes(of: value.littleEndian) { header.append(contentsOf: $0) }
                }
                header.append(Data(count: TokenCache.headerSize - header.count))
                try handle.seek(toOffset: 0)
                try handle.write(contentsOf: header)
                try handle.synchronize()
                try handle.close()
                if rename(temp.path, url.path) != 0 {
                    throw DatasetError.cacheWriteFailed(file: url.path, reason: String(cString: strerror(errno)))
                }
                if let typesTemp { try? FileManager.default.removeItem(at: typesTemp) }
            } catch let error as DatasetError {
                throw error
            } catch {
                throw DatasetError.cacheWriteFailed(file: url.path, reason: error.localizedDescription)
            }
        }

        /// Removes the partial files (after an error).
        func discard() {
            try? handle.close()
            try? typesHandle?.close()
            try? FileManager.default.removeItem(at: temp)
            if let typesTemp { try? FileManager.default.removeItem(at: typesTemp) }
        }
    }
}
