import ArgumentParser
import Foundation
import Kernels
import Logging

@main
struct Adapters: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapters",
        abstract: "Parameter-efficient fine-tuning and inference for BERT/RoBERTa encoders, natively in Swift.",
        version: "0.1.0",
        subcommands: [
            TrainCommand.self, EvaluateCommand.self, PredictCommand.self, EmbedCommand.self, TokenizeCommand.self,
            AdapterCommand.self, PushCommand.self, InspectCommand.self, BenchCommand.self, CompareCommand.self,
            ReportCommand.self, ServeCommand.self,
        ])

    static func main() {
        BLASCoreSelection.restartWithOptimizedKernelsIfNeeded()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["ADAPTERS_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

let logger = Logger(label: "adapters")
