/// The OpenAPI 3.1 description of every route (`GET /openapi.json`); a test checks the routes and the
/// shapes of the answers against it.
enum OpenAPIDocument {
    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }

    static func json(_ schema: [String: Any], _ description: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": schema]]]
    }

    static var errors: [String: Any] {
        [
            "401": json(ref("Error"), "A valid `Authorization: Bearer <key>` is required (servers started with --api-key-file)."),
            "413": json(ref("Error"), "The body is larger than the limit."),
            "422": json(ref("Error"), "The body is malformed, a field has the wrong type, or an input is too long."),
            "429": json(ref("Error"), "The queue is full; retry after `Retry-After` seconds."),
        ]
    }

    static func operation(_ summary: String, body: [String: Any]?, ok: [String: Any], extra: [String: Any] = [:])
        -> [String: Any]
    {
        var responses: [String: Any] = ["200": ok]
        for (k, v) in errors { responses[k] = v }
        for (k, v) in extra { responses[k] = v }
        var op: [String: Any] = ["summary": summary, "responses": responses]
        if let body { op["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]] }
        return op
    }

    static var document: [String: Any] {
        let texts: [String: Any] = [
            "oneOf": [
                ["type": "string"],
                ["type": "array", "minItems": 1, "items": ["oneOf": [
                    ["type": "string"],
                    ["type": "array", "minItems": 2, "maxItems": 2, "items": ["type": "string"]],
                ]]],
            ]
        ]
        let prediction: [String: Any] = [
            "type": "array",
            "items": ["type": "object", "required": ["label", "score"],
                      "properties": ["label": ["type": "string"], "score": ["type": "number"]]],
        ]
        let schemas: [String: Any] = [
            "Error": [
                "type": "object", "required": ["error", "error_type"],
                "properties": ["error": ["type": "string"], "error_type": ["type": "string"]],
            ],
            "Prediction": prediction,
            "PredictRequest": [
                "type": "object", "required": ["inputs"], "additionalProperties": false,
                "properties": [
                    "inputs": texts, "adapter": ["type": "string"],
                    "adapters": ["type": "array", "minItems": 1, "items": ["type": "string"]],
                    "raw_scores": ["type": "boolean"], "top_k": ["type": "integer", "minimum": 1],
                    "truncate": ["type": "boolean"],
                ],
            ],
            "PredictResponse": [
                "oneOf": [
                    ref("Prediction"), ["type": "array", "items": ref("Prediction")],
                    ["type": "object", "additionalProperties": [
                        "oneOf": [ref("Prediction"), ["type": "array", "items": ref("Prediction")]]
                    ]],
                ]
            ],
            "EmbedRequest": [
                "type": "object", "required": ["inputs"], "additionalProperties": false,
                "properties": [
                    "inputs": ["oneOf": [["type": "string"], ["type": "array", "minItems": 1, "items": ["type": "string"]]]],
                    "normalize": ["type": "boolean"], "pooling": ["type": "string", "enum": ["mean", "cls"]],
                    "truncate": ["type": "boolean"],
                ],
            ],
            "EmbedResponse": ["type": "array", "items": ["type": "array", "items": ["type": "number"]]],
            "TokenizeRequest": [
                "type": "object", "required": ["inputs"], "additionalProperties": false,
                "properties": ["inputs": texts, "add_special_tokens": ["type": "boolean"]],
            ],
            "TokenizeResponse": [
                "type": "array",
                "items": ["type": "array", "items": [
                    "type": "object", "required": ["id", "text", "special"],
                    "properties": ["id": ["type": "integer"], "text": ["type": "string"], "special": ["type": "boolean"]],
                ]],
            ],
            "Adapter": [
                "type": "object", "required": ["name", "status"],
                "properties": [
                    "name": ["type": "string"], "status": ["type": "string", "enum": ["ready", "loading", "failed"]],
                    "method": ["type": "string"], "parameters": ["type": "integer"], "bytes": ["type": "integer"],
                    "labels": ["type": "array", "items": ["type": "string"]], "source": ["type": "string"],
                    "error": ["type": "string"],
                ],
            ],
            "AdapterList": [
                "type": "object", "required": ["adapters"],
                "properties": ["adapters": ["type": "array", "items": ref("Adapter")]],
            ],
            "LoadAdapterRequest": [
                "type": "object", "required": ["name", "source"], "additionalProperties": false,
                "properties": [
                    "name": ["type": "string"], "source": ["type": "string"], "revision": ["type": "string"],
                    "replace": ["type": "boolean"],
                ],
            ],
            "LoadAdapterResponse": [
                "type": "object", "required": ["name", "status"],
                "properties": ["name": ["type": "string"], "status": ["type": "string", "enum": ["loading"]]],
            ],
            "Health": ["type": "object", "required": ["status"], "properties": ["status": ["type": "string"]]],
            "Info": [
                "type": "object", "required": ["model_id", "model_type", "adapters", "limits", "version"],
                "properties": [
                    "model_id": ["type": "string"], "model_type": ["type": "string"], "architecture": ["type": "object"],
                    "base_head": ["oneOf": [["type": "null"], ["type": "object"]]],
                    "adapters": ["type": "array", "items": ref("Adapter")], "limits": ["type": "object"],
                    "version": ["type": "string"],
                ],
            ],
        ]
        let paths: [String: Any] = [
            "/health": ["get": [
                "summary": "Liveness (no key needed).",
                "responses": ["200": json(ref("Health"), "The server is up.")],
            ]],
            "/info": ["get": operation("The model, the adapters and the limits.", body: nil, ok: json(ref("Info"), "Server info."))],
            "/metrics": ["get": operation(
                "Prometheus metrics.", body: nil,
                ok: ["description": "Prometheus text format.", "content": ["text/plain": ["schema": ["type": "string"]]]])],
            "/openapi.json": ["get": operation("This document.", body: nil, ok: json(["type": "object"], "OpenAPI 3.1."))],
            "/predict": ["post": operation(
                "Classify texts (or pairs) with an adapter's head, several adapters at once, or the base model's head.",
                body: ref("PredictRequest"), ok: json(ref("PredictResponse"), "Labels with scores, best first."),
                extra: ["404": json(ref("Error"), "No such adapter.")])],
            "/embed": ["post": operation(
                "Pooled embeddings of the base model.", body: ref("EmbedRequest"), ok: json(ref("EmbedResponse"), "One vector per input."))],
            "/tokenize": ["post": operation(
                "The tokens of texts.", body: ref("TokenizeRequest"), ok: json(ref("TokenizeResponse"), "Tokens per input."))],
            "/adapters": [
                "get": operation("The adapters, loaded or loading.", body: nil, ok: json(ref("AdapterList"), "Adapters.")),
                "post": operation(
                    "Load an adapter in the background (a folder under --adapter-root, or a Hub id).",
                    body: ref("LoadAdapterRequest"), ok: json(ref("LoadAdapterResponse"), "Not used: loading answers 202."),
                    extra: [
                        "202": json(ref("LoadAdapterResponse"), "Loading started."),
                        "409": json(ref("Error"), "The name is taken."), "404": json(ref("Error"), "No such folder."),
                    ]),
            ],
            "/adapters/{name}": ["delete": [
                "summary": "Unload an adapter; requests already using it finish first.",
                "parameters": [["name": "name", "in": "path", "required": true, "schema": ["type": "string"]]],
                "responses": ["204": ["description": "Deleted."], "404": json(ref("Error"), "No such adapter."),
                              "401": json(ref("Error"), "A valid key is required.")],
            ]],
        ]
        return [
            "openapi": "3.1.0",
            "info": ["title": "SwiftAdapters inference server", "version": AdapterServer.version],
            "paths": paths,
            "components": [
                "schemas": schemas,
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
            "security": [["bearer": [String]()]],
        ]
    }
}
