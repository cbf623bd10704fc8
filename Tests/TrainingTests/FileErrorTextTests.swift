import Adapters
import Foundation
import Testing

@testable import Training

/// Errors a user reads keep to one line: the system's words for what failed, not Foundation's whole
/// error dictionary (issue #18: a full disk during a checkpoint write).
@Suite("File error text")
struct FileErrorTextTests {
    @Test func aFullDiskSaysSo() {
        let underlying = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        let error = CocoaError(
            .fileWriteOutOfSpace,
            userInfo: [NSUnderlyingErrorKey: underlying, NSFilePathErrorKey: "/tmp/x/.step-0000004.tmp-123/optimizer.safetensors"])
        #expect(fileErrorText(error) == "No space left on device")
        #expect(fileErrorText(POSIXError(.EACCES)) == "Permission denied")
    }

    @Test func aCheckpointWriteFailureIsOneLineNamingTheCheckpoint() throws {
        let error = TrainingError.checkpoint(
            path: "/runs/a/checkpoints/step-0000004", detail: "cannot write checkpoint: \(fileErrorText(POSIXError(.ENOSPC)))")
        #expect(error.description == "/runs/a/checkpoints/step-0000004: cannot write checkpoint: No space left on device")
        #expect(!error.description.contains("\n"))
    }

    @Test func aDamagedTrainerStateIsOneLineNamingTheKey() throws {
        struct State: Decodable { var step: Int }
        for (json, expected) in [
            ("{\"step\": \"ten\"}", "step: expected Int"), ("{}", "'step' is missing"),
            ("{\"step\": 3", "the top level: "),
        ] {
            do {
                _ = try JSONDecoder().decode(State.self, from: Data(json.utf8))
                Issue.record("decoded \(json)")
            } catch let error as DecodingError {
                let text = decodingErrorText(error)
                #expect(text.hasPrefix(expected), "\(text)")
                #expect(!text.contains("\n") && !text.contains("CodingKeys"), "\(text)")
            }
        }
    }
}
