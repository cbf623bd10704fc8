import Adapters
import Encoders
import Foundation
import ModelIO
import TestSupport
import Testing
import Training

/// A head trained alone (`train --method head`, AdapterHub's `save_head`) is a folder with head_config.json
/// and the head's weights but no adapter: it loads onto the plain base with the same logits.
@Suite("Head-only folders")
struct HeadOnlyFolderTests {
    @Test func aSavedHeadLoadsBackWithTheSameLogits() throws {
        let base = try AdapterInteropTests.base()
        let model = try AdapterModel(base: base, mode: .headOnly, head: HeadSpec(name: "probe", labels: ["a", "b", "c"], dropout: 0))
        model.initializeTrainable(seed: 7)
        for (i, name) in model.trainableNames.enumerated() {
            try model.setTensor(name, randomFloats(model.tensor(name)?.count ?? 0, seed: UInt64(i + 3), scale: 0.5))
        }
        let tmp = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let folder = tmp.appendingPathComponent("probe")
        try model.saveAdapterHub(to: folder, modelName: "tiny-roberta")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == ["head_config.json", "model_head.safetensors"])
        let (batch, _) = try AdapterInteropTests.expected("seq_bn")
        let reference = try model.logits(batch)

        let saved = try AdapterHubAdapter(folder: folder)
        #expect(saved.config == nil && saved.weights == nil && saved.head?.labels == ["a", "b", "c"])
        let loaded = try AdapterModel.load(adapterFolder: folder, base: base)
        #expect(loaded.mode == .headOnly)
        #expect(try loaded.logits(batch) == reference)

        let lifecycle = ModelWithAdapters(base: base)
        #expect(ModelWithAdapters.isHeadOnlyFolder(folder))
        #expect(try lifecycle.loadHead(from: folder) == "probe")
        #expect(lifecycle.activeHead == "probe" && lifecycle.activeAdapters == nil)
        #expect(try lifecycle.logits(batch) == reference)
        #expect(throws: AdapterError.incompatible(detail: "\(folder.path): holds a head and no adapter (load it with loadHead)")) {
            try lifecycle.loadAdapter(from: folder)
        }
    }
}
