// The coalition's decision rights (firmware-config/decision-rights.yaml): which roles may take
// which action, from which stations. Pure: the caller reads the file and passes its text.
import { parseYamlText, type Codebook } from "../wire/index.ts";
import { ACTION_VERBS, type ActionVerb } from "./types.ts";

export interface Right {
  roles: ReadonlySet<string>;
  /** Station names, or "any". */
  stations: ReadonlySet<string> | "any";
}

export type DecisionRights = ReadonlyMap<ActionVerb, Right>;

/** A decision-rights file that cannot be used; the message names the entry and what is wrong. */
export class DecisionRightsError extends Error {
  readonly code = "STATION_BAD_DECISION_RIGHTS";
  constructor(message: string, options?: { cause?: unknown }) {
    super(`decision rights: ${message}`, options);
    this.name = "DecisionRightsError";
  }
}

/** Reads decision-rights YAML; roles must be the codebook's. Throws DecisionRightsError. */
export function parseDecisionRights(text: string, codebook: Codebook): DecisionRights {
  let data: unknown;
  try {
    data = parseYamlText(text);
  } catch (error) {
    throw new DecisionRightsError((error as Error).message, { cause: error });
  }
  if (!isObject(data)) throw new DecisionRightsError("expected a mapping with `version` and `rights`");
  for (const key of Object.keys(data)) if (key !== "version" && key !== "rights") throw new DecisionRightsError(`unknown key "${key}" (expected version, rights)`);
  if (data["version"] !== 1) throw new DecisionRightsError(`version ${String(data["version"])} is not one this station reads (1)`);
  const rights = data["rights"];
  if (!isObject(rights)) throw new DecisionRightsError("`rights` must be a mapping of action -> { roles, stations }");
  const out = new Map<ActionVerb, Right>();
  for (const [verb, value] of Object.entries(rights)) {
    if (!(ACTION_VERBS as readonly string[]).includes(verb)) throw new DecisionRightsError(`unknown action "${verb}" (known: ${ACTION_VERBS.join(", ")})`);
    if (!isObject(value)) throw new DecisionRightsError(`${verb}: expected { roles: [...], stations: any | [...] }`);
    for (const key of Object.keys(value)) if (key !== "roles" && key !== "stations") throw new DecisionRightsError(`${verb}: unknown key "${key}" (expected roles, stations)`);
    const roles = value["roles"];
    if (!Array.isArray(roles) || roles.some((role) => typeof role !== "string")) throw new DecisionRightsError(`${verb}: roles must be a list of role names`);
    for (const role of roles as string[]) {
      if (!codebook.lists.roles.byName.has(role)) throw new DecisionRightsError(`${verb}: "${role}" is not a role in the codebook`);
    }
    const stations = value["stations"] ?? "any";
    if (stations !== "any" && (!Array.isArray(stations) || stations.some((name) => typeof name !== "string"))) {
      throw new DecisionRightsError(`${verb}: stations must be "any" or a list of station names`);
    }
    out.set(verb as ActionVerb, { roles: new Set(roles as string[]), stations: stations === "any" ? "any" : new Set(stations as string[]) });
  }
  return out;
}

/** Whether `role` may take `verb` at `station`; the reason when not. */
export function mayAct(rights: DecisionRights, verb: ActionVerb, role: string, station: string): { ok: true } | { ok: false; reason: string } {
  const right = rights.get(verb);
  if (!right) return { ok: false, reason: `nobody may ${verb.replace("_", " ")}: the decision rights do not list it` };
  if (!right.roles.has(role)) return { ok: false, reason: `${role} may not ${verb.replace("_", " ")} (allowed: ${[...right.roles].join(", ")})` };
  if (right.stations !== "any" && !right.stations.has(station)) {
    return { ok: false, reason: `${verb.replace("_", " ")} is not allowed from station ${station} (only from ${[...right.stations].join(", ")})` };
  }
  return { ok: true };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
