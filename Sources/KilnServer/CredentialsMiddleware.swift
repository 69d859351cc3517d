import HTTPTypes
import OpenAPIRuntime

/// Makes the API request's key (``Credentials``) available to the generated
/// operations' handler as ``Credentials/current``, for the ``Authorizer``.
struct CredentialsMiddleware: ServerMiddleware {
    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        try await Credentials.$current.withValue(Credentials(request.headerFields)) {
            try await next(request, body, metadata)
        }
    }
}
