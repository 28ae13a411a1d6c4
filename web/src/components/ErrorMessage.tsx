import type { ApiError } from "../api/problems";

/** An API error in words, announced by screen readers as it appears. */
export function ErrorMessage({ error }: { error: ApiError | null }) {
  if (error === null) return null;
  return (
    <p className="message error" role="alert">
      {error.message}
    </p>
  );
}
