import Foundation
import FuzzSupport
import Tokenizers

/// `tokenizer.json`: our JSON reader and the BPE/WordPiece builders; a tokenizer that loads then
/// encodes and decodes a fixed text.
@_cdecl("FuzzTokenizerJSON_main")
public func fuzzTokenizerJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzTokenizerJSON(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let folder = FuzzInput.folder.appendingPathComponent("tokenizer-json")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try? Data(bytes: data, count: size).write(to: folder.appendingPathComponent("tokenizer.json"))
    if let tokenizer = try? Tokenizer.load(from: folder) { exercise(tokenizer) }
    return 0
}
