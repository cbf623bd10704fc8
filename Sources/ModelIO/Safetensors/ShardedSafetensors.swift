import Foundation
import Kernels

/// Several safetensors shards behind one `TensorSource`, as described by HF's
/// `model.safetensors.index.json` (`{"weight_map": {tensor: shard file}}`).
public final class ShardedSafetensors: TensorSource, @unchecked Sendable {
    public let indexPath: String
    public let shards: [SafetensorsFile]
    private let owner: [String: Int]
    public let tensorNames: [String]

    public init(indexPath: String) throws {
        self.indexPath = indexPath
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        } catch {
            if !FileManager.default.fileExists(atPath: indexPath) { throw ModelIOError.fileNotFound(path: indexPath) }
            throw ModelIOError.unreadable(path: indexPath, reason: error.localizedDescription)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelIOError.invalidIndex(path: indexPath, detail: "not a JSON object")
        }
        guard let map = object["weight_map"] as? [String: String] else {
            throw ModelIOError.invalidIndex(path: indexPath, detail: "no 'weight_map' object of strings")
        }
        let folder = URL(fileURLWithPath: indexPath).deletingLastPathComponent()
        let files = Array(Set(map.values)).sorted()
        var shards: [SafetensorsFile] = []
        var fileIndex: [String: Int] = [:]
        for name in files {
            guard !name.contains("/"), !name.hasPrefix(".") else {
                throw ModelIOError.invalidIndex(path: indexPath, detail: "shard name '\(name)' is not a plain file name")
            }
            fileIndex[name] = shards.count
            shards.append(try SafetensorsFile(path: folder.appendingPathComponent(name).path))
        }
        var owner: [String: Int] = [:]
        for (tensor, file) in map {
            guard let i = fileIndex[file] else { continue }
            guard shards[i].entries[tensor] != nil else {
                throw ModelIOError.invalidIndex(
                    path: indexPath, detail: "'\(tensor)' is mapped to \(file), which does not contain it")
            }
            owner[tensor] = i
        }
        self.shards = shards
        self.owner = owner
        tensorNames = owner.keys.sorted()
    }

    public func shape(of name: String) -> [Int]? { owner[name].flatMap { shards[$0].shape(of: name) } }
    public func dtype(of name: String) -> TensorDType? { owner[name].flatMap { shards[$0].dtype(of: name) } }

    public func readFloats(_ name: String, into destination: UnsafeMutablePointer<Float>) throws {
        guard let i = owner[name] else { throw ModelIOError.missingTensor(path: indexPath, tensor: name) }
        try shards[i].readFloats(name, into: destination)
    }

    public func didRead(_ name: String) {
        if let i = owner[name] { shards[i].didRead(name) }
    }

    public func copyFloats(_ name: String, elements: Range<Int>, into destination: UnsafeMutablePointer<Float>) -> Bool {
        guard let i = owner[name] else { return false }
        return shards[i].copyFloats(name, elements: elements, into: destination)
    }

    public func didRead(_ name: String, elements: Range<Int>) {
        if let i = owner[name] { shards[i].didRead(name, elements: elements) }
    }
}
