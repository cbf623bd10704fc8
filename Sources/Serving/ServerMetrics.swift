import Prometheus

/// What `/metrics` reports, in Prometheus' text format: requests by route, adapter and status, the queue's
/// depth, batch sizes, and queue and compute latencies.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let queueDepth: Gauge
    let batchSize: ValueHistogram
    let queueSeconds: DurationHistogram
    let computeSeconds: DurationHistogram
    let abandoned: Counter

    static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "adapters", metricName: metric, unitName: unit, helpText: help)
    }

    init() {
        queueDepth = registry.makeGauge(descriptor: Self.name("queue", unit: "depth", help: "Inputs waiting for a batch."))
        batchSize = registry.makeValueHistogram(
            descriptor: Self.name("batch", unit: "size", help: "Inputs per batch."), buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256])
        let latency: [Duration] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20),
            .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(500), .seconds(1), .seconds(2),
            .seconds(5),
        ]
        queueSeconds = registry.makeDurationHistogram(
            descriptor: Self.name("queue", unit: "seconds", help: "Time a request's inputs waited for their batch."),
            buckets: latency)
        computeSeconds = registry.makeDurationHistogram(
            descriptor: Self.name("compute", unit: "seconds", help: "Time a batch took to compute."), buckets: latency)
        abandoned = registry.makeCounter(
            descriptor: Self.name(
                "abandoned", unit: "inputs_total",
                help: "Queued inputs dropped before their batch ran because the client had closed its connection."))
    }

    func request(route: String, adapter: String, status: Int) {
        registry.makeCounter(
            descriptor: Self.name("requests", unit: "total", help: "Requests answered, by route, adapter and HTTP status."),
            labels: [("route", route), ("adapter", adapter), ("status", String(status))]
        ).increment()
    }

    var text: String { registry.emitToString() }
}
