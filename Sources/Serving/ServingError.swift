/// Why the server could not start or do what it was asked.
public enum ServingError: Error, CustomStringConvertible, Equatable, Sendable {
    case configuration(String)
    case adapter(name: String, detail: String)

    public var description: String {
        switch self {
        case .configuration(let detail): "invalid server configuration: \(detail)"
        case .adapter(let name, let detail): "adapter '\(name)': \(detail)"
        }
    }
}

/// An error answered to a client, shaped as text-embeddings-inference answers them:
/// `{"error": "...", "error_type": "..."}` with the HTTP status.
public struct APIError: Error, Sendable, Equatable {
    public var status: Int
    public var type: String
    public var message: String
    public var headers: [String: String] = [:]

    public static func validation(_ message: String) -> APIError { APIError(status: 422, type: "Validation", message: message) }
    public static func notFound(_ message: String) -> APIError { APIError(status: 404, type: "NotFound", message: message) }
    public static func overloaded(_ message: String) -> APIError {
        APIError(status: 429, type: "Overloaded", message: message, headers: ["Retry-After": "1"])
    }
    public static func unauthorized() -> APIError {
        APIError(status: 401, type: "Unauthorized", message: "a valid 'Authorization: Bearer <key>' header is required",
                 headers: ["WWW-Authenticate": "Bearer"])
    }
    public static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: 413, type: "PayloadTooLarge", message: "the request body is larger than \(limit) bytes")
    }
    public static func methodNotAllowed(_ method: String, _ path: String, allowed: [String]) -> APIError {
        APIError(status: 405, type: "MethodNotAllowed", message: "\(method) is not allowed on \(path)",
                 headers: ["Allow": allowed.joined(separator: ", ")])
    }
    public static func conflict(_ message: String) -> APIError { APIError(status: 409, type: "Conflict", message: message) }
    public static func unavailable(_ message: String) -> APIError {
        APIError(status: 503, type: "Unhealthy", message: message, headers: ["Retry-After": "1"])
    }
    public static func backend(_ message: String) -> APIError { APIError(status: 500, type: "Backend", message: message) }
}
