// The login session: an access token in memory, the refresh token in localStorage, and the
// one fetch every API call goes through (it adds the bearer token and, on a 401, refreshes
// once and retries).
//
// The API rotates refresh tokens and treats a rotated one presented again as stolen: it
// revokes the whole login. So two refreshes must never use the same token. In one tab,
// concurrent requests that need a new access token share one refresh (a single promise).
// Across tabs (they share localStorage), every refresh runs under a Web Lock and reads the
// token from storage inside it, so a tab always rotates the newest one, never one another
// tab has rotated already.
//
// The refresh token is readable by scripts of this origin: the UI's Content-Security-Policy
// allows scripts from the origin's own files only (no inline script, no third party).
import { problemOf } from "./problems";
import type { components } from "./schema";

type TokenPair = components["schemas"]["TokenPair"];

export const REFRESH_TOKEN_KEY = "orgo.refreshToken";
const REFRESH_LOCK = "orgo.refresh";
// Refresh this long before the access token's announced expiry (clocks and latency).
const EXPIRY_MARGIN_MS = 10_000;

export type EndReason = "logged-out" | "expired" | "password-changed";
export type SessionState = { signedIn: true } | { signedIn: false; reason: EndReason | null };

export interface SessionOptions {
  baseUrl?: string;
  storage?: Storage;
  fetch?: typeof fetch;
  locks?: LockManager | null;
  now?: () => number;
}

export class Session {
  private readonly baseUrl: string;
  private readonly storage: Storage;
  private readonly send: typeof fetch;
  private readonly locks: LockManager | null;
  private readonly now: () => number;
  private access: { token: string; expiresAt: number } | null = null;
  private refreshing: Promise<string | null> | null = null;
  private state: SessionState;
  private readonly listeners = new Set<(state: SessionState) => void>();

  constructor(options: SessionOptions = {}) {
    this.baseUrl = options.baseUrl ?? window.location.origin;
    this.storage = options.storage ?? window.localStorage;
    this.send = options.fetch ?? ((input, init) => window.fetch(input, init));
    this.locks = options.locks === undefined ? (navigator.locks ?? null) : options.locks;
    this.now = options.now ?? Date.now;
    this.state = this.refreshToken() ? { signedIn: true } : { signedIn: false, reason: null };
  }

  get current(): SessionState {
    return this.state;
  }

  subscribe(listener: (state: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Another tab logged out (or in): called with the storage event of the refresh token. */
  storageChanged(event: StorageEvent): void {
    if (event.key !== REFRESH_TOKEN_KEY && event.key !== null) return;
    if (this.refreshToken() === null && this.state.signedIn) this.end("logged-out");
    else if (this.refreshToken() !== null && !this.state.signedIn)
      this.setState({ signedIn: true });
  }

  /** The OAuth2 password flow. Throws an ApiError (401: wrong e-mail or password, 429...). */
  async login(email: string, password: string): Promise<void> {
    const response = await this.post("/api/v1/auth/token", {
      body: new URLSearchParams({ username: email, password }),
    });
    if (!response.ok) throw problemOf(response, await bodyOf(response));
    this.keep((await response.json()) as TokenPair);
    this.setState({ signedIn: true });
  }

  /** Revokes this login's refresh tokens and forgets them; the session ends either way. */
  async logout(): Promise<void> {
    const refreshToken = this.refreshToken();
    const access = this.access?.token;
    this.end("logged-out");
    if (refreshToken === null) return;
    try {
      await this.post("/api/v1/auth/logout", {
        body: JSON.stringify({ refresh_token: refreshToken }),
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${access ?? ""}` },
      });
    } catch {
      // Unreachable: the tokens are forgotten here; the server's expire on their own.
    }
  }

  /** Ends the session on this side (every tab), e.g. after a password change. */
  end(reason: EndReason): void {
    this.access = null;
    this.storage.removeItem(REFRESH_TOKEN_KEY);
    this.setState({ signedIn: false, reason });
  }

  /** The fetch of the API client: bearer token, one refresh and retry on 401. */
  readonly fetch = async (request: Request): Promise<Response> => {
    const retry = request.clone();
    const token = await this.accessToken();
    if (token === null) return unauthorized();
    const response = await this.authorized(request, token);
    if (response.status !== 401) return response;
    const fresh = await this.refreshAfter(token);
    if (fresh === null) return response;
    const retried = await this.authorized(retry, fresh);
    // A fresh token refused at once: the user was deactivated or the login revoked.
    if (retried.status === 401) this.end("expired");
    return retried;
  };

  private authorized(request: Request, token: string): Promise<Response> {
    request.headers.set("Authorization", `Bearer ${token}`);
    return this.send(request);
  }

  private async accessToken(): Promise<string | null> {
    if (this.access && this.now() < this.access.expiresAt) return this.access.token;
    return this.refreshAfter(this.access?.token ?? null);
  }

  /**
   * A new access token to replace `stale`: the one another request got meanwhile, the
   * refresh already in flight, or a new refresh. Null when the session has ended.
   */
  private refreshAfter(stale: string | null): Promise<string | null> {
    if (this.access && this.access.token !== stale && this.now() < this.access.expiresAt) {
      return Promise.resolve(this.access.token);
    }
    this.refreshing ??= this.withLock(() => this.rotate()).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async rotate(): Promise<string | null> {
    // Read inside the lock: another tab may have rotated it a moment ago.
    const refreshToken = this.refreshToken();
    if (refreshToken === null) {
      if (this.state.signedIn) this.end("logged-out");
      return null;
    }
    const response = await this.post("/api/v1/auth/refresh", {
      body: JSON.stringify({ refresh_token: refreshToken }),
      headers: { "Content-Type": "application/json" },
    });
    if (response.status === 401) {
      // Expired, revoked, or already rotated (the API then revokes the whole login).
      this.end("expired");
      return null;
    }
    if (!response.ok) throw problemOf(response, await bodyOf(response));
    return this.keep((await response.json()) as TokenPair);
  }

  private keep(tokens: TokenPair): string {
    this.storage.setItem(REFRESH_TOKEN_KEY, tokens.refresh_token);
    this.access = {
      token: tokens.access_token,
      expiresAt: this.now() + Math.max(0, tokens.expires_in * 1000 - EXPIRY_MARGIN_MS),
    };
    return tokens.access_token;
  }

  private withLock<T>(work: () => Promise<T>): Promise<T> {
    return this.locks ? this.locks.request(REFRESH_LOCK, work) : work();
  }

  private refreshToken(): string | null {
    return this.storage.getItem(REFRESH_TOKEN_KEY);
  }

  private post(path: string, init: RequestInit): Promise<Response> {
    return this.send(`${this.baseUrl}${path}`, { method: "POST", ...init });
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }
}

function unauthorized(): Response {
  return new Response(JSON.stringify({ detail: "not authenticated" }), {
    status: 401,
    headers: { "Content-Type": "application/json" },
  });
}

async function bodyOf(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}
