import { BASE, FakeServer, json, signedIn } from "../test/fakeServer";
import { ApiError } from "./problems";
import { REFRESH_TOKEN_KEY, Session } from "./session";

const TASKS = `${BASE}/api/v1/tasks`;

function serverWithTasks(): FakeServer {
  return new FakeServer().on("GET /api/v1/tasks", () =>
    json({ items: [], total: 0, limit: 20, offset: 0 }),
  );
}

describe("Session", () => {
  it("logs in with the OAuth2 password form and keeps only the refresh token", async () => {
    const server = new FakeServer().on("POST /api/v1/auth/token", () => json(server.tokens()));
    const session = new Session({ baseUrl: BASE, fetch: server.fetch, locks: null });
    await session.login("ada@example.com", "correct horse battery");

    const [login] = server.calls("/api/v1/auth/token");
    const form = new URLSearchParams(await login?.text());
    expect(form.get("username")).toBe("ada@example.com");
    expect(form.get("password")).toBe("correct horse battery");
    expect(session.current).toEqual({ signedIn: true });
    expect(window.localStorage.getItem(REFRESH_TOKEN_KEY)).toMatch(/^refresh-/);
    expect(JSON.stringify(window.localStorage)).not.toContain("correct horse battery");
  });

  it("turns a refused login into words, without the password", async () => {
    const server = new FakeServer().on("POST /api/v1/auth/token", () =>
      json({ detail: "incorrect e-mail or password" }, 401),
    );
    const session = new Session({ baseUrl: BASE, fetch: server.fetch, locks: null });
    const error = await session
      .login("ada@example.com", "wrong-password")
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe("Incorrect e-mail or password");
    expect((error as ApiError).message).not.toContain("wrong-password");
    expect(session.current.signedIn).toBe(false);
  });

  it("gets an access token with the stored refresh token, then sends it as a bearer", async () => {
    const server = serverWithTasks();
    const session = signedIn(server);
    const response = await session.fetch(new Request(TASKS));
    expect(response.status).toBe(200);
    expect(server.calls("/api/v1/auth/refresh")).toHaveLength(1);
    expect(server.calls("/api/v1/tasks")[0]?.headers.get("Authorization")).toMatch(
      /^Bearer access-/,
    );
  });

  it("refreshes once for concurrent requests whose token expired, and retries each", async () => {
    const server = serverWithTasks();
    const session = signedIn(server);
    await session.fetch(new Request(TASKS));
    server.validAccess.clear(); // every access token issued so far has expired

    const responses = await Promise.all([1, 2, 3, 4].map(() => session.fetch(new Request(TASKS))));

    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect(server.calls("/api/v1/auth/refresh")).toHaveLength(2); // the first token, then one
    expect(session.current).toEqual({ signedIn: true });
  });

  it("retries a request with its body after the refresh", async () => {
    const bodies: string[] = [];
    const server = new FakeServer().on("POST /api/v1/tasks", async (request) => {
      bodies.push(await request.text());
      return json({ id: "t1" }, 201);
    });
    const session = signedIn(server);
    await session.fetch(new Request(TASKS, { method: "POST", body: "{}" }));
    server.validAccess.clear();
    const response = await session.fetch(
      new Request(TASKS, { method: "POST", body: '{"title":"x"}' }),
    );
    expect(response.status).toBe(201);
    expect(bodies).toEqual(["{}", '{"title":"x"}']);
  });

  it("refreshes before sending when the token's announced lifetime is over", async () => {
    let now = 0;
    const server = serverWithTasks();
    window.localStorage.setItem(REFRESH_TOKEN_KEY, server.tokens().refresh_token);
    const session = new Session({
      baseUrl: BASE,
      fetch: server.fetch,
      locks: null,
      now: () => now,
    });
    await session.fetch(new Request(TASKS));
    now = 900_000; // expires_in: 900 s
    await session.fetch(new Request(TASKS));
    expect(server.calls("/api/v1/auth/refresh")).toHaveLength(2);
    expect(server.calls("/api/v1/tasks")).toHaveLength(2); // no 401 round trip
  });

  it("ends the session when the refresh token is refused (reused, expired or revoked)", async () => {
    const server = serverWithTasks();
    const session = signedIn(server);
    server.rotated.add(window.localStorage.getItem(REFRESH_TOKEN_KEY) ?? "");
    const states: unknown[] = [];
    session.subscribe((state) => states.push(state));

    const response = await session.fetch(new Request(TASKS));

    expect(response.status).toBe(401);
    expect(states).toEqual([{ signedIn: false, reason: "expired" }]);
    expect(window.localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(server.calls("/api/v1/tasks")).toHaveLength(0);
  });

  it("never presents a token another tab rotated: refreshes read the newest under the lock", async () => {
    const server = serverWithTasks();
    window.localStorage.setItem(REFRESH_TOKEN_KEY, server.tokens().refresh_token);
    const locks = new SerialLocks();
    const tabs = [1, 2].map(
      () =>
        new Session({ baseUrl: BASE, fetch: server.fetch, locks: locks as unknown as LockManager }),
    );
    const responses = await Promise.all(tabs.map((tab) => tab.fetch(new Request(TASKS))));
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    const presented = await Promise.all(
      server
        .calls("/api/v1/auth/refresh")
        .map(async (request) => (await request.json()).refresh_token),
    );
    expect(new Set(presented).size).toBe(presented.length);
    expect(tabs.map((tab) => tab.current.signedIn)).toEqual([true, true]);
  });

  it("logs out: revokes the refresh token's login and forgets it even if the server is down", async () => {
    const server = serverWithTasks().on(
      "POST /api/v1/auth/logout",
      () => new Response(null, { status: 204 }),
    );
    const session = signedIn(server);
    await session.fetch(new Request(TASKS));
    const token = window.localStorage.getItem(REFRESH_TOKEN_KEY);
    await session.logout();
    const [logout] = server.calls("/api/v1/auth/logout");
    expect(await logout?.json()).toEqual({ refresh_token: token });
    expect(window.localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
    expect(session.current).toEqual({ signedIn: false, reason: "logged-out" });

    const offline = new Session({
      baseUrl: BASE,
      fetch: () => Promise.reject(new TypeError("offline")),
      locks: null,
    });
    window.localStorage.setItem(REFRESH_TOKEN_KEY, "refresh-x");
    await offline.logout();
    expect(window.localStorage.getItem(REFRESH_TOKEN_KEY)).toBeNull();
  });

  it("follows a logout in another tab", () => {
    const session = signedIn(new FakeServer());
    window.localStorage.removeItem(REFRESH_TOKEN_KEY);
    session.storageChanged(new StorageEvent("storage", { key: REFRESH_TOKEN_KEY, newValue: null }));
    expect(session.current).toEqual({ signedIn: false, reason: "logged-out" });
  });
});

/** Web Locks as the browser grants them: one holder of a name at a time, in request order. */
class SerialLocks {
  private tail: Promise<unknown> = Promise.resolve();

  request<T>(_name: string, work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
