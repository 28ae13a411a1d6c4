// Every failed API call becomes an ApiError whose message says, in words, what went wrong
// and what to do. The API's `detail` never echoes submitted values (passwords included), and
// neither does anything here: messages name fields, never their contents.
import type { components } from "./schema";

type Problem = components["schemas"]["Problem"];
type FieldProblem = { loc?: (string | number)[]; msg?: string };

// What a field is called on the forms (loc's last part is the API's name for it).
const FIELD_LABELS: Record<string, string> = {
  title: "Title",
  description: "Description",
  status: "Status",
  assignee_id: "Assignee",
  due_at: "Due date",
  email: "E-mail",
  password: "Password",
  new_password: "New password",
  current_password: "Current password",
  username: "E-mail",
  is_admin: "Admin",
  is_active: "Active",
  limit: "Page size",
  offset: "Page",
};
const LOCATIONS = new Set(["body", "query", "path", "header"]);

export class ApiError extends Error {
  readonly status: number;
  /** Messages by the API's field name (422), for showing next to the field. */
  readonly fields: Readonly<Record<string, string>>;

  constructor(status: number, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
  }
}

export const UNREACHABLE = "Cannot reach the Orgo server. Check your connection and try again.";

function fieldName(loc: (string | number)[] | undefined): string {
  const parts = (loc ?? []).filter((part) => !LOCATIONS.has(String(part)));
  return parts.length ? String(parts[parts.length - 1]) : "request";
}

function sentence(text: string): string {
  const trimmed = text.trim().replace(/^Value error, /, "");
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
}

/** "in 42 seconds", "in 3 minutes": when a 429's Retry-After allows another try. */
export function retryIn(seconds: number): string {
  if (seconds <= 1) return "in a second";
  if (seconds < 90) return `in ${Math.ceil(seconds)} seconds`;
  return `in ${Math.ceil(seconds / 60)} minutes`;
}

function retryAfterSeconds(response: Response): number | null {
  const header = response.headers.get("Retry-After");
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

function unprocessable(detail: Problem["detail"]): ApiError {
  const items: FieldProblem[] = Array.isArray(detail) ? detail : [{ msg: String(detail) }];
  const fields: Record<string, string> = {};
  for (const item of items) {
    const name = fieldName(item.loc);
    fields[name] ??= sentence(item.msg ?? "is invalid");
  }
  const message = Object.entries(fields)
    .map(([name, text]) => `${FIELD_LABELS[name] ?? name}: ${text}`)
    .join(" ");
  return new ApiError(422, message, fields);
}

/** The ApiError for a response that is not a success, from its status, headers and body. */
export function problemOf(response: Response, body: unknown): ApiError {
  const detail = (body as Partial<Problem> | undefined)?.detail;
  const text = typeof detail === "string" ? sentence(detail) : "";
  const status = response.status;
  switch (status) {
    case 422:
      return unprocessable(detail ?? "is invalid");
    case 429: {
      const seconds = retryAfterSeconds(response);
      const when = seconds === null ? "later" : retryIn(seconds);
      return new ApiError(status, `Too many attempts. Try again ${when}.`);
    }
    case 409:
      // A refused status move names the move and the ones allowed ("status: cannot move...").
      return new ApiError(status, sentence(text.replace(/^Status: /, "")) || "Conflict.");
    case 401:
      return new ApiError(status, text || "Your session has ended. Log in again.");
    case 403:
      return new ApiError(status, text || "You are not allowed to do that.");
    case 404:
      return new ApiError(status, "Not found: it was deleted, or you can no longer see it.");
    case 413:
      return new ApiError(status, text || "That is too large to send.");
    default:
      if (status >= 500) {
        const seconds = retryAfterSeconds(response);
        const when = seconds === null ? "in a moment" : retryIn(seconds);
        return new ApiError(
          status,
          `The Orgo service is unavailable right now. Try again ${when}.`,
        );
      }
      return new ApiError(status, text || `The request failed (HTTP ${status}).`);
  }
}

/** Any error thrown while talking to the API, as an ApiError (a network failure is status 0). */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, UNREACHABLE);
}

/** The data of an openapi-fetch result, or its ApiError thrown. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T;
  throw problemOf(result.response, result.error);
}
