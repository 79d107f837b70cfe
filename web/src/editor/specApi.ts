import { api, unwrap, type Schemas } from "../api/client";
import type { paths } from "../api/schema";

export type SpecGraph = Schemas["SpecGraphOut"];
export type SpecEdit = NonNullable<paths["/api/spec/edit"]["post"]["requestBody"]>["content"]["application/json"]["edits"][number];

export async function fetchGraph(text: string): Promise<SpecGraph> {
  return unwrap(await api.POST("/api/spec/graph", { body: { text, file: "reefline.yaml" } }));
}

/** Applies structured edits on the server (round-trip YAML: comments and key order stay). */
export async function editSpec(text: string, edits: SpecEdit[]): Promise<Schemas["SpecEditOut"]> {
  return unwrap(await api.POST("/api/spec/edit", { body: { text, edits } }));
}

/** A new revision of the pipeline the YAML names (created on its first save). */
export async function saveSpec(team: string, text: string, message: string, board: string | null): Promise<Schemas["PushOut"]> {
  const form = new FormData();
  form.append("spec", new Blob([text], { type: "application/yaml" }), "reefline.yaml");
  if (message) form.append("message", message);
  if (board) form.append("board", board);
  return unwrap(
    await api.POST("/api/teams/{team}/pipelines", {
      params: { path: { team } },
      // openapi-fetch would JSON-encode the body; the route takes multipart form data.
      body: form as unknown as Schemas["Body_push_api_teams__team__pipelines_post"],
      bodySerializer: (body) => body as unknown as FormData,
    }),
  );
}
