/** Errors of the ML Analytics REST API: the gRPC status that Envoy prints as JSON. */

/** Canonical gRPC status codes (google.rpc.Code). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** One bad request parameter (google.rpc.BadRequest.FieldViolation). */
export interface FieldViolation {
  /** The query parameter, e.g. "window". */
  field: string;
  /** What is wrong with it and what is allowed. */
  description: string;
}

/** The JSON body of every error response: a google.rpc.Status. */
export interface StatusBody {
  code: number;
  message: string;
  details?: Array<{ "@type"?: string; [key: string]: unknown }>;
}

const BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest";

/** The gRPC code an HTTP status stands for when the body is not a status (google.rpc.Code). */
const CODE_OF_HTTP: Record<number, Code> = {
  400: Code.INVALID_ARGUMENT,
  401: Code.UNAUTHENTICATED,
  403: Code.PERMISSION_DENIED,
  404: Code.NOT_FOUND,
  409: Code.ABORTED,
  429: Code.RESOURCE_EXHAUSTED,
  499: Code.CANCELLED,
  500: Code.INTERNAL,
  501: Code.UNIMPLEMENTED,
  503: Code.UNAVAILABLE,
  504: Code.DEADLINE_EXCEEDED,
};

/**
 * A call that did not return data: an error status from the service or from Envoy, a body that is
 * not the documented JSON, a timeout, or no connection at all.
 */
export class AnalyticsError extends Error {
  override readonly name = "AnalyticsError";
  /** The HTTP status; 0 when there was no response (timeout, connection refused). */
  readonly status: number;
  /** The gRPC status code: `code` of the body, else derived from the HTTP status. */
  readonly code: number;
  /** For INVALID_ARGUMENT: the parameters at fault, from a google.rpc.BadRequest detail. */
  readonly fieldViolations: FieldViolation[];
  /** The status body's `details`, as sent. */
  readonly details: unknown[];
  /** The URL that was requested. */
  readonly url: string;

  constructor(
    message: string,
    init: {
      status: number;
      code: number;
      url: string;
      details?: unknown[];
      fieldViolations?: FieldViolation[];
      cause?: unknown;
    },
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.url = init.url;
    this.details = init.details ?? [];
    this.fieldViolations = init.fieldViolations ?? [];
  }

  /** The error for a non-2xx response, from its JSON status body when it has one. */
  static fromResponse(status: number, statusText: string, text: string, url: string): AnalyticsError {
    const body = parseStatus(text);
    if (body === undefined) {
      const excerpt = text.trim().slice(0, 200) || statusText;
      return new AnalyticsError(`HTTP ${status}: ${excerpt}`, {
        status,
        code: CODE_OF_HTTP[status] ?? Code.UNKNOWN,
        url,
      });
    }
    const details = body.details ?? [];
    const fieldViolations = details
      .filter((detail) => detail["@type"] === BAD_REQUEST)
      .flatMap((detail) => (Array.isArray(detail["field_violations"]) ? detail["field_violations"] : []))
      .map((v: { field?: unknown; description?: unknown } | null) => ({
        field: String(v?.field ?? ""),
        description: String(v?.description ?? ""),
      }));
    return new AnalyticsError(body.message, { status, code: body.code, url, details, fieldViolations });
  }
}

function parseStatus(text: string): StatusBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null) return undefined;
  const { code, message, details } = body as Record<string, unknown>;
  if (typeof code !== "number" || typeof message !== "string") return undefined;
  const objects = Array.isArray(details) ? details.filter((d) => typeof d === "object" && d !== null) : [];
  return { code, message, details: objects };
}
