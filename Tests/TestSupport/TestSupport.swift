import Foundation

/// Paths of committed fixtures and of the project's model cache, found from this file's location
/// so tests run from any working directory.
public enum Fixtures {
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func url(_ relative: String) -> URL {
        repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative)
    }

    /// The built-in default model, which `scripts/setup.sh` puts into the Hugging Face cache: the snapshot
    /// `refs/main` names, found as huggingface_hub finds its cache (HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME).
    public static var miniLM: URL {
        let env = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        let home = env["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        let hfHome = env["HF_HOME"] ?? (env["XDG_CACHE_HOME"] ?? home + "/.cache") + "/huggingface"
        let repo = URL(fileURLWithPath: env["HF_HUB_CACHE"] ?? hfHome + "/hub")
            .appendingPathComponent("models--sentence-transformers--all-MiniLM-L6-v2")
        let commit = (try? String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8)) ?? "main"
        return repo.appendingPathComponent("snapshots").appendingPathComponent(commit)
    }

    public static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(relative))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return object
    }

    /// A fresh temporary folder, removed by the caller with `FileManager.removeItem`.
    public static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftadapters-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

public func floats(_ value: Any?) -> [Float] {
    (value as? [Any])?.compactMap { ($0 as? NSNumber)?.floatValue } ?? []
}

public func int32s(_ value: Any?) -> [Int32] {
    (value as? [Any])?.compactMap { ($0 as? NSNumber).map { Int32($0.doubleValue) } } ?? []
}

/// Largest |a − b| over two equally long arrays (infinity when the lengths differ).
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var m: Float = 0
    for i in a.indices {
        let d = abs(a[i] - b[i])
        if d.isNaN { return .infinity }
        m = max(m, d)
    }
    return m
}

/// Deterministic pseudo-random floats in [-scale, scale).
public func randomFloats(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var state = seed &+ 0x9e37_79b9_7f4a_7c15
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}
