import Prometheus

/// What `/metrics` reports, in Prometheus' text format: requests by route, adapter and status, the queue's
/// depth, batch sizes, and queue and compute latencies.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let queueDepth: Gauge
    let batchSize: ValueHistogram
    let queueSeconds: DurationHistogram
    let computeSeconds: DurationHistogram

    init() {
        queueDepth = registry.makeGauge(name: "adapters_queue_depth", help: "Inputs waiting for a batch.")
        batchSize = registry.makeValueHistogram(
            name: "adapters_batch_size", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], help: "Inputs per batch.")
        let latency: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
            .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2),
            .seconds(5),
        ]
        queueSeconds = registry.makeDurationHistogram(
            name: "adapters_queue_seconds", buckets: latency, help: "Time a request's inputs waited for their batch.")
        computeSeconds = registry.makeDurationHistogram(
            name: "adapters_compute_seconds", buckets: latency, help: "Time a batch took to compute.")
    }

    func request(route: String, adapter: String, status: Int) {
        registry.makeCounter(
            name: "adapters_requests_total",
            labels: [("route", route), ("adapter", adapter), ("status", String(status))],
            help: "Requests answered, by route, adapter and HTTP status."
        ).increment()
    }

    var text: String { registry.emitToString() }
}
