import Foundation
import FuzzSupport
import Tokenizers

/// Byte-level BPE from legacy files: `vocab.json` and `merges.txt` (the input's NUL-separated parts).
@_cdecl("FuzzBPEFiles_main")
public func fuzzBPEFilesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzBPEFiles(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBPEFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let parts = FuzzInput.split(data, size, parts: 2)
    let folder = FuzzInput.folder.appendingPathComponent("bpe")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    FuzzInput.write(parts[0], name: "bpe/vocab.json")
    FuzzInput.write(parts[1], name: "bpe/merges.txt")
    if let tokenizer = try? Tokenizer.load(from: folder) { exercise(tokenizer) }
    return 0
}
