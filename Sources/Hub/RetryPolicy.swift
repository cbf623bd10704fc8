/// How transient failures (HTTP 408, 429, 500, 502, 503, 504, timeouts, refused or dropped connections) are
/// retried: exponential backoff from `baseDelay`, doubling up to `maxDelay`, at most `maxRetries` times after
/// the first try (huggingface_hub's `http_backoff`: 5 retries, 1 s doubling to 8 s).
///
/// Tests inject a tiny `baseDelay` so that a run with retries still takes milliseconds.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt.
    public var maxRetries: Int
    /// Wait before the first retry.
    public var baseDelay: Duration
    /// Upper bound of the doubling wait.
    public var maxDelay: Duration
    /// Upper bound of a server's `Retry-After` that is honoured; longer waits use the backoff instead.
    public var maxRetryAfter: Duration

    public init(
        maxRetries: Int = 5,
        baseDelay: Duration = .seconds(1),
        maxDelay: Duration = .seconds(8),
        maxRetryAfter: Duration = .seconds(60)
    ) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// huggingface_hub's defaults.
    public static let `default` = RetryPolicy()

    /// Statuses worth another try (`_DEFAULT_RETRY_ON_STATUS_CODES`).
    public static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    /// The wait before retry number `retry` (1-based), honouring a `Retry-After` of `retryAfterSeconds`.
    func delay(beforeRetry retry: Int, retryAfterSeconds: Int?) -> Duration {
        if let seconds = retryAfterSeconds, seconds >= 0, .seconds(seconds) <= maxRetryAfter {
            return .seconds(seconds)
        }
        var delay = baseDelay
        for _ in 1..<max(1, retry) {
            delay = delay * 2
            if delay >= maxDelay { return maxDelay }
        }
        return min(delay, maxDelay)
    }
}
