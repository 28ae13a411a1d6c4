import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { User } from "../api/client";
import { FakeServer, json, ME, renderSignedIn } from "../test/fakeServer";
import { UsersPage } from "./UsersPage";

const ADMIN: User = { ...ME, is_admin: true };
const BOB: User = { ...ME, id: "33333333-3333-4333-8333-333333333333", email: "bob@example.com" };

describe("UsersPage", () => {
  it("deactivates a user, and shows the API's refusal in words", async () => {
    let bob = BOB;
    const fake = new FakeServer()
      .on("GET /api/v1/users", () => json({ items: [ADMIN, bob], total: 2, limit: 20, offset: 0 }))
      .on("PATCH /api/v1/users/{id}", async (request) => {
        bob = { ...bob, ...(await request.json()) };
        return json(bob);
      });
    renderSignedIn(<UsersPage />, fake, ADMIN);
    await userEvent.click(
      await screen.findByRole("button", { name: "Deactivate bob@example.com" }),
    );
    expect(
      await screen.findByRole("button", { name: "Reactivate bob@example.com" }),
    ).toBeInTheDocument();
    const [patch] = fake.calls(`/api/v1/users/${BOB.id}`);
    expect(await patch?.json()).toEqual({ is_active: false });
    // Nobody is offered to deactivate themselves.
    expect(screen.queryByRole("button", { name: `Deactivate ${ADMIN.email}` })).toBeNull();
  });

  it("creates a user and names a refused field", async () => {
    const fake = new FakeServer()
      .on("GET /api/v1/users", () => json({ items: [ADMIN], total: 1, limit: 20, offset: 0 }))
      .on("POST /api/v1/users", () =>
        json(
          { detail: [{ loc: ["body", "email"], msg: "value is not a valid email address" }] },
          422,
        ),
      );
    renderSignedIn(<UsersPage />, fake, ADMIN);
    await userEvent.type(screen.getByLabelText("E-mail"), "carol@example.com");
    await userEvent.type(screen.getByLabelText(/Initial password/), "a-long-initial-password");
    await userEvent.click(screen.getByRole("button", { name: "Create user" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "E-mail: Value is not a valid email address",
    );
    expect(screen.getByLabelText(/Initial password/)).toHaveValue("");
  });
});
