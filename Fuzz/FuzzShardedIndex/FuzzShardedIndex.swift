import FuzzSupport
import ModelIO

/// A sharded checkpoint's index JSON (`model.safetensors.index.json`), next to two small real shards
/// it may name, then every tensor it maps read through the index.
@_cdecl("FuzzShardedIndex_main")
public func fuzzShardedIndexMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzShardedIndex(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShardedIndex(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ShardFiles.once()
    let path = FuzzInput.write(UnsafeRawBufferPointer(start: data, count: size), name: "model.safetensors.index.json")
    guard let index = try? ShardedSafetensors(indexPath: path) else { return 0 }
    readEveryTensor(index)
    return 0
}

enum ShardFiles {
    static let made: Void = {
        for (k, names) in [["a.weight", "a.bias"], ["b.weight"]].enumerated() {
            let tensors = names.map { SafetensorsWriter.Tensor(name: $0, shape: [2, 3], values: [1, 2, 3, 4, 5, 6]) }
            let bytes = [UInt8](SafetensorsWriter.encode(tensors))
            FuzzInput.write(bytes, name: "model-0000\(k + 1)-of-00002.safetensors")
        }
    }()
    static func once() { _ = made }
}
