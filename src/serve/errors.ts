/** OpenAI's error types, as its clients read them. */
export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'server_error';

/**
 * A request the server refuses: the HTTP status and OpenAI's error body,
 * `{"error": {"message", "type", "param", "code"}}`, which every OpenAI client turns into its own error.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: ErrorType = status === 401 ? 'authentication_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }

  get body(): { error: { message: string; type: ErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
