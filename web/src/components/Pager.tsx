interface PagerProps {
  label: string;
  offset: number;
  limit: number;
  total: number;
  onChange: (offset: number) => void;
}

/** "21–40 of 45" with previous and next, for the API's limit/offset pages. */
export function Pager({ label, offset, limit, total, onChange }: PagerProps) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav className="pager" aria-label={label}>
      <button
        type="button"
        disabled={offset === 0}
        onClick={() => onChange(Math.max(0, offset - limit))}
      >
        Previous
      </button>
      <span aria-live="polite">
        {first}–{last} of {total}
      </span>
      <button type="button" disabled={last >= total} onClick={() => onChange(offset + limit)}>
        Next
      </button>
    </nav>
  );
}
