import { ApiError, asApiError, problemOf, retryIn, UNREACHABLE, unwrap } from "./problems";

const response = (status: number, headers: Record<string, string> = {}) =>
  new Response(null, { status, headers });

describe("problemOf", () => {
  it("names every field a 422 refuses, in the form's words, and keeps them by field", () => {
    const error = problemOf(response(422), {
      detail: [
        {
          loc: ["body", "title"],
          msg: "String should have at least 1 character",
          type: "string_too_short",
        },
        {
          loc: ["body", "due_at"],
          msg: "Value error, must include a timezone",
          type: "value_error",
        },
      ],
    });
    expect(error.message).toBe(
      "Title: String should have at least 1 character Due date: Must include a timezone",
    );
    expect(error.fields).toEqual({
      title: "String should have at least 1 character",
      due_at: "Must include a timezone",
    });
  });

  it("says when a 429 allows the next try, from Retry-After", () => {
    expect(problemOf(response(429, { "Retry-After": "42" }), {}).message).toBe(
      "Too many attempts. Try again in 42 seconds.",
    );
    expect(problemOf(response(429, { "Retry-After": "600" }), {}).message).toBe(
      "Too many attempts. Try again in 10 minutes.",
    );
    expect(problemOf(response(429), {}).message).toBe("Too many attempts. Try again later.");
    expect(retryIn(1)).toBe("in a second");
  });

  it("reads a refused status move as a sentence", () => {
    const error = problemOf(response(409), {
      detail: "status: cannot move a task from done to todo; allowed from done: in_progress",
    });
    expect(error.message).toBe(
      "Cannot move a task from done to todo; allowed from done: in_progress",
    );
  });

  it("explains 404, 403, 413 and an unavailable service", () => {
    expect(problemOf(response(404), { detail: "task x not found" }).message).toMatch(/^Not found/);
    expect(
      problemOf(response(403), { detail: "only the task's owner or an admin may delete it" })
        .message,
    ).toBe("Only the task's owner or an admin may delete it");
    expect(
      problemOf(response(413), { detail: "request body is larger than 1048576 bytes" }).message,
    ).toMatch(/^Request body is larger/);
    expect(problemOf(response(503, { "Retry-After": "5" }), {}).message).toBe(
      "The Orgo service is unavailable right now. Try again in 5 seconds.",
    );
  });

  it("turns a network failure into UNREACHABLE, and keeps an ApiError as it is", () => {
    expect(asApiError(new TypeError("Failed to fetch")).message).toBe(UNREACHABLE);
    const error = new ApiError(409, "x");
    expect(asApiError(error)).toBe(error);
  });

  it("unwraps a success and throws the problem of a failure", () => {
    expect(unwrap({ data: { id: 1 }, response: response(200) })).toEqual({ id: 1 });
    expect(() => unwrap({ error: { detail: "nope" }, response: response(403) })).toThrow("Nope");
  });
});
