import Foundation

/// Debian's headless Chromium, driven the way a person would look at a page: render it at a width,
/// measure where its charts landed, take a screenshot, and read what it printed to the console.
///
/// Chromium windows are at least 500 px wide, so a page is shown in an iframe of the asked width inside a
/// small harness page; with `--allow-file-access-from-files` the harness measures the framed page.
public struct HeadlessBrowser {
    public let executable: URL

    public init() throws {
        let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure("no headless Chromium (scripts/setup.sh installs Debian's chromium)")
        }
        executable = URL(fileURLWithPath: path)
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ d: String) { description = d }
    }

    /// Where a page's figures are, laid out `width` CSS pixels wide.
    public struct Layout: Decodable {
        public struct Rect: Decodable {
            public let id: String
            public let x: Double
            public let y: Double
            public let w: Double
            public let h: Double
        }
        /// The page's content height and its scroll width (wider than `width` means it overflows sideways).
        public let height: Double
        public let scrollWidth: Double
        public let rects: [Rect]
    }

    /// Runs Chromium headless; returns (stdout, stderr).
    func run(_ arguments: [String], timeout: TimeInterval = 90) throws -> (String, String) {
        let process = Process()
        process.executableURL = executable
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--allow-file-access-from-files",
        ] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        let outData = Collector(out.fileHandleForReading)
        let errData = Collector(err.fileHandleForReading)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            throw Failure("chromium did not finish within \(Int(timeout)) s")
        }
        return (outData.text(), errData.text())
    }

    /// Reads a pipe on its own thread so a full pipe never blocks Chromium.
    final class Collector: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)
        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }
        func text() -> String {
            done.wait()
            return String(decoding: data, as: UTF8.self)
        }
    }

    func harness(_ page: URL, width: Int, height: Int, measure: Bool) throws -> URL {
        let script = measure ? """
            <script>
            document.getElementById('page').addEventListener('load', () => {
              const d = document.getElementById('page').contentDocument;
              const rects = [...d.querySelectorAll('figure svg')].map(s => {
                const r = s.getBoundingClientRect();
                return {id: s.closest('figure').id || '', x: r.left, y: r.top, w: r.width, h: r.height};
              });
              document.body.setAttribute('data-layout', JSON.stringify({
                height: Math.ceil(d.body.getBoundingClientRect().bottom + 16),
                scrollWidth: d.documentElement.scrollWidth, rects}));
            });
            </script>
            """ : ""
        let html = """
            <!doctype html><html><body style="margin:0;background:#fff">
            <iframe id="page" src="\(page.lastPathComponent)" style="border:0;display:block;width:\(width)px;height:\(height)px"></iframe>
            \(script)</body></html>
            """
        let url = page.deletingLastPathComponent().appendingPathComponent(".harness-\(UUID().uuidString).html")
        try Data(html.utf8).write(to: url)
        return url
    }

    /// The layout of `page` (an HTML file) at `width` CSS pixels.
    public func layout(_ page: URL, width: Int) throws -> Layout {
        let harness = try harness(page, width: width, height: 40_000, measure: true)
        defer { try? FileManager.default.removeItem(at: harness) }
        let (dom, stderr) = try run(["--window-size=\(max(width, 500)),800", "--dump-dom", harness.absoluteString])
        guard let start = dom.range(of: "data-layout=\""), let end = dom[start.upperBound...].firstIndex(of: "\"") else {
            throw Failure("the harness reported no layout; chromium said: \(stderr.suffix(600))")
        }
        let json = dom[start.upperBound..<end].replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&amp;", with: "&")
        return try JSONDecoder().decode(Layout.self, from: Data(json.utf8))
    }

    /// A screenshot of `page` at `width` × `height` CSS pixels (at the harness's top-left), as a PNG file.
    public func screenshot(_ page: URL, width: Int, height: Int, to png: URL) throws {
        let harness = try harness(page, width: width, height: height, measure: false)
        defer { try? FileManager.default.removeItem(at: harness) }
        let (_, stderr) = try run(["--window-size=\(max(width, 500)),\(height)", "--screenshot=\(png.path)", harness.absoluteString])
        guard FileManager.default.fileExists(atPath: png.path) else {
            throw Failure("no screenshot was written; chromium said: \(stderr.suffix(600))")
        }
    }

    /// What the page printed to the console (errors, uncaught exceptions, failed loads the console reports).
    public func consoleMessages(_ page: URL) throws -> [String] {
        let (_, stderr) = try run(["--enable-logging=stderr", "--v=0", "--window-size=1280,800", "--dump-dom", page.absoluteString])
        return stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
    }
}
