/// A chart that renders itself as a self-contained SVG element for an HTML report.
///
/// The SVG has a viewBox of `width` × `height` user units and `width="100%"`, so it scales to the
/// page; text sizes are chosen for a viewBox about 640 units wide. No scripts, no external
/// resources: the same input always gives the same bytes.
public protocol Chart: Sendable {
    func svg(width: Int, height: Int) -> String
}

extension Chart {
    /// The SVG at the default 640 × 360 viewBox, the size the text sizes are chosen for.
    public func svg() -> String {
        svg(width: 640, height: 360)
    }
}

/// Why a chart could not be built from its input.
public enum ChartError: Error, Equatable, Sendable {
    /// `what` has `actual` entries where `expected` were needed (a bar series against the categories,
    /// heatmap rows against the row labels).
    case lengthMismatch(what: String, expected: Int, actual: Int)
}
