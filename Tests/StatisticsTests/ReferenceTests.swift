import Testing

/// Guards the parameterised suites: if the fixture lost its cases they would pass vacuously.
@Suite("Reference fixture")
struct ReferenceTests {
    @Test("the fixture holds the cases the suites iterate")
    func caseCounts() throws {
        let reference = try Reference.load()
        #expect(reference.scipy == "1.17.1")
        #expect(reference.t_quantiles.filter { $0.p == 0.975 }.map(\.df).contains(100))
        #expect(reference.t_quantiles.count >= 150)
        #expect(reference.t_cdf.count >= 30)
        #expect(reference.summaries.count >= 8)
        #expect(reference.mcnemar.count >= 10)
    }
}
