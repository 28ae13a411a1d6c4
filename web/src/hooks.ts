// Small React hooks shared by the pages: data that loads (and optionally polls) from the API,
// and the session's state.
import {
  type DependencyList,
  useCallback,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import { type ApiError, asApiError } from "./api/problems";
import type { Session, SessionState } from "./api/session";

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` when `deps` change and, with `pollMs`, again every pollMs while the page is
 * visible (activity and notifications appear without a reload). One request at a time;
 * a response that arrives after the inputs changed is dropped.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: DependencyList,
  pollMs?: number,
): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to reload
  useEffect(() => {
    const controller = new AbortController();
    let inFlight = false;
    const run = async () => {
      if (inFlight || (pollMs && document.visibilityState === "hidden")) return;
      inFlight = true;
      try {
        const value = await loadRef.current(controller.signal);
        if (!controller.signal.aborted) {
          setData(value);
          setError(null);
        }
      } catch (caught) {
        if (!controller.signal.aborted) setError(asApiError(caught));
      } finally {
        inFlight = false;
        if (!controller.signal.aborted) setLoading(false);
      }
    };
    setLoading(true);
    void run();
    const timer = pollMs ? window.setInterval(run, pollMs) : undefined;
    return () => {
      controller.abort();
      window.clearInterval(timer);
    };
  }, [...deps, version, pollMs]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, error, loading, reload };
}

export function useSessionState(session: Session): SessionState {
  return useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.current,
  );
}

/** Runs an action, keeping its error and whether it is busy, for forms and buttons. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = useCallback(async <T>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (caught) {
      setError(asApiError(caught));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
