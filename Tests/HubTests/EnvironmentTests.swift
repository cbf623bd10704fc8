import Foundation
import Hub
import Testing

@Suite("Settings from environment variables, as huggingface_hub reads them")
struct EnvironmentTests {
    @Test func defaults() {
        let env = HubEnvironment(environment: ["HOME": "/home/u"])
        #expect(env.endpoint == "https://huggingface.co")
        #expect(env.home.path == "/home/u/.cache/huggingface")
        #expect(env.cacheDirectory.path == "/home/u/.cache/huggingface/hub")
        #expect(env.token == nil)
        #expect(env.offline == false)
        #expect(env.metadataTimeout == 10)
    }

    @Test func precedenceOfCacheVariables() {
        #expect(
            HubEnvironment(environment: ["HOME": "/h", "XDG_CACHE_HOME": "/xdg"]).cacheDirectory.path
                == "/xdg/huggingface/hub")
        #expect(
            HubEnvironment(environment: ["HOME": "/h", "XDG_CACHE_HOME": "/xdg", "HF_HOME": "/hf"]).cacheDirectory.path
                == "/hf/hub")
        #expect(
            HubEnvironment(environment: ["HOME": "/h", "HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"])
                .cacheDirectory.path == "/legacy")
        #expect(
            HubEnvironment(environment: ["HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/new"])
                .cacheDirectory.path == "/new")
        #expect(HubEnvironment(environment: ["HOME": "/h", "HF_HOME": "~/hf"]).home.path == "/h/hf")
        #expect(
            HubEnvironment(environment: ["HOME": "/h", "BASE": "/b", "HF_HUB_CACHE": "$BASE/c"]).cacheDirectory.path
                == "/b/c")
        #expect(HubEnvironment(environment: ["HOME": "/h", "HF_HOME": ""]).home.path == "/h/.cache/huggingface")
    }

    @Test func endpointLosesTrailingSlash() {
        #expect(HubEnvironment(environment: ["HF_ENDPOINT": "http://127.0.0.1:9/"]).endpoint == "http://127.0.0.1:9")
    }

    @Test(arguments: [
        ("1", true), ("true", true), ("TRUE", true), ("yes", true), ("On", true),
        ("0", false), ("false", false), ("no", false), ("", false), ("2", false), ("auto", false),
    ])
    func offlineTruthValues(value: String, expected: Bool) {
        #expect(HubEnvironment(environment: ["HF_HUB_OFFLINE": value]).offline == expected)
        #expect(HubEnvironment.isTrue(value) == expected)
    }

    @Test func transformersOfflineIsTheFallback() {
        #expect(HubEnvironment(environment: ["TRANSFORMERS_OFFLINE": "1"]).offline)
        #expect(!HubEnvironment(environment: ["HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "1"]).offline)
    }

    @Test func tokenFromVariablesThenTokenFile() throws {
        let home = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: home) }
        try "  hf_fromfile\n".write(to: home.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        #expect(HubEnvironment(environment: ["HF_HOME": home.path]).token == "hf_fromfile")
        #expect(HubEnvironment(environment: ["HF_HOME": home.path, "HF_TOKEN": "hf_env"]).token == "hf_env")
        #expect(
            HubEnvironment(environment: ["HF_HOME": home.path, "HUGGING_FACE_HUB_TOKEN": "hf_old"]).token == "hf_old")
        #expect(HubEnvironment(environment: ["HF_HOME": home.path, "HF_TOKEN": "\r\n"]).token == "hf_fromfile")
        let other = home.appendingPathComponent("elsewhere")
        try "hf_path\n".write(to: other, atomically: true, encoding: .utf8)
        #expect(HubEnvironment(environment: ["HF_HOME": home.path, "HF_TOKEN_PATH": other.path]).token == "hf_path")
        #expect(HubEnvironment(environment: ["HF_HOME": home.appendingPathComponent("none").path]).token == nil)
    }

    @Test func descriptionHidesTheToken() {
        let env = HubEnvironment(environment: ["HF_TOKEN": "hf_hidden_value"])
        #expect(!env.description.contains("hf_hidden_value"))
        #expect(env.description.contains("token: set"))
    }

    @Test func invalidEndpointIsATypedError() {
        let env = HubEnvironment(endpoint: "not a url", cacheDirectory: URL(fileURLWithPath: "/tmp/x"))
        #expect(throws: HubError.invalidEndpoint("not a url")) {
            _ = try HubClient(environment: env)
        }
    }
}
