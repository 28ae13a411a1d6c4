import { createContext, useContext } from "react";
import type { Api, User } from "./api/client";
import type { Session } from "./api/session";

export interface Orgo {
  session: Session;
  api: Api;
  /** The signed-in user (GET /users/me). */
  me: User;
}

export const OrgoContext = createContext<Orgo | null>(null);

export function useOrgo(): Orgo {
  const orgo = useContext(OrgoContext);
  if (orgo === null) throw new Error("useOrgo outside a signed-in OrgoContext");
  return orgo;
}
