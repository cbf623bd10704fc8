import Foundation
import TestSupport
import Tokenizers
@testable import Datasets

/// Test helpers: fixture paths, temporary files, shared tokenizers.
enum DS {
    static func fixture(_ name: String) -> String {
        Fixtures.url("datasets/\(name)").path
    }

    static var rottenTomatoes: URL {
        Fixtures.repositoryRoot.appendingPathComponent("data/rotten_tomatoes")
    }

    /// Writes `bytes` to a fresh temporary file named `name` and returns its path.
    static func write(_ bytes: [UInt8], name: String) throws -> String {
        let folder = try Fixtures.temporaryFolder()
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static func write(_ text: String, name: String) throws -> String {
        try write(Array(text.utf8), name: name)
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(at: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    /// Loads `text` written to a temporary file `name`.
    static func load(_ text: String, name: String, options: DatasetOptions = DatasetOptions()) throws -> LabeledDataset {
        let path = try write(text, name: name)
        defer { remove(path) }
        return try LabeledDataset.load(path: path, options: options)
    }

    static let roberta = Result { try Tokenizer.load(from: Fixtures.url("tokenizers/roberta-base")) }
    static let miniLM = Result { try Tokenizer.load(from: Fixtures.url("tokenizers/minilm")) }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try (name == "roberta-base" ? roberta : miniLM).get()
    }
}
