// A stand-in for the Orgo API in unit tests: routes "METHOD /path" (with {param} parts) to
// handlers, records every request, and answers the refresh and login endpoints like the API
// (rotation: a refresh token works once).
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import type { User } from "../api/client";
import { createApi } from "../api/client";
import { REFRESH_TOKEN_KEY, Session } from "../api/session";
import { OrgoContext } from "../context";

export type Handler = (
  request: Request,
  params: Record<string, string>,
) => Response | Promise<Response>;

export const BASE = "http://orgo.test";

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export class FakeServer {
  readonly requests: Request[] = [];
  private readonly routes: [string, RegExp, string[], Handler][] = [];
  private issued = 0;
  /** Refresh tokens already rotated (presented again: the login is revoked). */
  readonly rotated = new Set<string>();
  validAccess = new Set<string>();

  on(route: string, handler: Handler): this {
    const [method, path] = route.split(" ") as [string, string];
    const names: string[] = [];
    const pattern = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return "([^/]+)";
    });
    this.routes.push([method, new RegExp(`^${pattern}$`), names, handler]);
    return this;
  }

  tokens(): {
    access_token: string;
    refresh_token: string;
    token_type: string;
    expires_in: number;
  } {
    this.issued += 1;
    const access = `access-${this.issued}`;
    this.validAccess.add(access);
    return {
      access_token: access,
      refresh_token: `refresh-${this.issued}`,
      token_type: "bearer",
      expires_in: 900,
    };
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    this.requests.push(request.clone());
    const url = new URL(request.url);
    if (url.pathname === "/api/v1/auth/refresh") return this.refresh(request);
    for (const [method, pattern, names, handler] of this.routes) {
      const match = pattern.exec(url.pathname);
      if (method === request.method && match) {
        if (!url.pathname.startsWith("/api/v1/auth/") && !this.authorized(request)) {
          return json({ detail: "invalid or expired access token" }, 401);
        }
        const params = Object.fromEntries(names.map((name, i) => [name, match[i + 1] ?? ""]));
        return handler(request, params);
      }
    }
    return json({ detail: "Not Found" }, 404);
  };

  calls(path: string): Request[] {
    return this.requests.filter((request) => new URL(request.url).pathname === path);
  }

  private authorized(request: Request): boolean {
    const header = request.headers.get("Authorization") ?? "";
    return this.validAccess.has(header.replace(/^Bearer /, ""));
  }

  private async refresh(request: Request): Promise<Response> {
    const { refresh_token: token } = (await request.json()) as { refresh_token: string };
    if (this.rotated.has(token) || !token.startsWith("refresh-")) {
      return json({ detail: "refresh token is invalid, expired or revoked" }, 401);
    }
    this.rotated.add(token);
    return json(this.tokens());
  }
}

export const ME: User = {
  id: "11111111-1111-4111-8111-111111111111",
  email: "ada@example.com",
  is_admin: false,
  is_active: true,
  created_at: "2026-12-01T09:00:00Z",
};

/** A signed-in session against `server` (a refresh token in storage, no access token yet). */
export function signedIn(server: FakeServer, storage: Storage = window.localStorage): Session {
  storage.setItem(REFRESH_TOKEN_KEY, server.tokens().refresh_token);
  return new Session({ baseUrl: BASE, storage, fetch: server.fetch, locks: null });
}

/** Renders a page inside the signed-in context, as the app's shell does. */
export function renderSignedIn(ui: ReactElement, server: FakeServer, me: User = ME) {
  const session = signedIn(server);
  const api = createApi(session, BASE);
  return {
    session,
    ...render(<OrgoContext.Provider value={{ session, api, me }}>{ui}</OrgoContext.Provider>),
  };
}
