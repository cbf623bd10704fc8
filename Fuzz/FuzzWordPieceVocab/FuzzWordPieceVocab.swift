import Foundation
import FuzzSupport
import Tokenizers

/// WordPiece from a legacy `vocab.txt`.
@_cdecl("FuzzWordPieceVocab_main")
public func fuzzWordPieceVocabMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in
        guard let data else { return 0 }
        return fuzzWordPieceVocab(data, size)
    }
}

/// Also libFuzzer\'s own entry name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWordPieceVocab(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let folder = FuzzInput.folder.appendingPathComponent("wordpiece")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try? Data(bytes: data, count: size).write(to: folder.appendingPathComponent("vocab.txt"))
    if let tokenizer = try? Tokenizer.load(from: folder) { exercise(tokenizer) }
    return 0
}
