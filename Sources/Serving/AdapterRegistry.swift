import Adapters
import Encoders
import Foundation
import Training

/// An adapter (with its head) ready to serve: the model that runs it shares the server's base weights.
/// Immutable once loaded; its model is only ever run by the scheduler's compute thread.
public final class ServedAdapter: @unchecked Sendable {
    public let name: String
    public let labels: [String]
    /// "seq_bn (bottleneck, reduction 16)", "LoRA r 8 on q,v", "head only".
    public let method: String
    /// Trainable tensors (adapter + head) and their bytes in memory.
    public let parameters: Int
    public let bytes: Int
    /// Where it came from (folder or Hub id).
    public let source: String
    let model: AdapterModel

    init(name: String, model: AdapterModel, source: String) {
        self.name = name
        self.model = model
        self.source = source
        labels = model.head.labels
        parameters = model.parameters.parameterCount
        bytes = parameters * MemoryLayout<Float>.size
        method = Self.describe(model)
    }

    static func describe(_ model: AdapterModel) -> String {
        guard !model.adapterStack.isEmpty else { return "head only" }
        return model.adapterStack.map { "\($0.config.methodName): \($0.config.summary)" }.joined(separator: " + ")
    }

    /// Loads an adapter folder — AdapterHub's (adapter + head, or a head alone) or a PEFT LoRA folder — onto
    /// `base`, checked tensor by tensor, and builds the model that runs it.
    static func load(name: String, folder: URL, base: EncoderModel, source: String) throws -> ServedAdapter {
        let served = try inferenceModel(name: name, folder: folder, base: base)
        returnFreedMemory()
        return ServedAdapter(name: name, model: served, source: source)
    }

    /// The folder read through a lifecycle (every check `--adapter` makes), kept as a model that only runs
    /// (no gradient or optimizer memory); the lifecycle, with its copy of the values, is freed on return.
    private static func inferenceModel(name: String, folder: URL, base: EncoderModel) throws -> AdapterModel {
        let lifecycle = ModelWithAdapters(base: base)
        if ModelWithAdapters.isHeadOnlyFolder(folder) {
            try lifecycle.loadHead(from: folder, loadAs: name)
        } else {
            let loaded = try lifecycle.loadAdapter(from: folder, loadAs: name, setActive: true)
            guard lifecycle.activeHead == loaded else {
                throw ServingError.adapter(
                    name: name, detail: "\(folder.path) has no head (head_config.json): nothing to predict with")
            }
        }
        return try lifecycle.inferenceModel()
    }

    /// Hands the loading's freed memory (file bytes, the lifecycle's copy) back to the system: glibc keeps
    /// freed blocks in its arenas, and a server that loads a hundred adapters would otherwise keep each
    /// load's transient memory resident.
    private static func returnFreedMemory() {
        #if os(Linux)
            _ = glibcMallocTrim(0)
        #endif
    }
}

/// The adapters the server holds, by name. Requests take a reference to an adapter when they arrive, so
/// deleting it lets in-flight requests that use it finish; it is freed when the last one is done.
final class AdapterRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var adapters: [String: ServedAdapter] = [:]
    /// Names being loaded in the background.
    private var loading: Set<String> = []

    func adapter(_ name: String) -> ServedAdapter? { lock.withLock { adapters[name] } }

    var all: [ServedAdapter] { lock.withLock { adapters.values.sorted { $0.name < $1.name } } }

    var loadingNames: [String] { lock.withLock { loading.sorted() } }

    /// Reserves `name` for a load; false when it is taken or being loaded.
    func reserve(_ name: String, replace: Bool) -> Bool {
        lock.withLock {
            guard !loading.contains(name), replace || adapters[name] == nil else { return false }
            loading.insert(name)
            return true
        }
    }

    func finish(_ name: String, with adapter: ServedAdapter?) {
        lock.withLock {
            loading.remove(name)
            if let adapter { adapters[name] = adapter }
        }
    }

    func insert(_ adapter: ServedAdapter) { lock.withLock { adapters[adapter.name] = adapter } }

    @discardableResult
    func remove(_ name: String) -> ServedAdapter? { lock.withLock { adapters.removeValue(forKey: name) } }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "_-".unicodeScalars.contains($0) }
            && name.unicodeScalars.allSatisfy(\.isASCII)
    }
}

#if os(Linux)
    /// glibc's `int malloc_trim(size_t pad)` (malloc.h, which the Glibc module does not export).
    @_silgen_name("malloc_trim")
    private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
