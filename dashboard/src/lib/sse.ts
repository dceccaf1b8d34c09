/**
 * Server-streaming RPCs through Envoy arrive as Server-Sent-Events-style frames (`data: {...}`).
 * EventSource cannot send an Authorization header, so this reads the body with fetch() and a
 * ReadableStream reader, and reconnects by itself with capped exponential backoff and jitter.
 */
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

import type { Route } from "@/gen/routes";
import { ApiError, authorizedFetch, errorMessage } from "@/lib/api-client";
import { messages } from "@/lib/i18n";
import { parseMessage } from "@/lib/proto-json";

/** Splits an SSE byte stream into the JSON payloads of its `data:` lines. */
export class SseParser {
  private buffer = "";

  /** Feeds text; returns every complete event's data (multi-line data joined by "\n"). */
  push(chunk: string): string[] {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    const events: string[] = [];
    let boundary = this.buffer.indexOf("\n\n");
    while (boundary >= 0) {
      const block = this.buffer.slice(0, boundary);
      this.buffer = this.buffer.slice(boundary + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""));
      if (data.length) events.push(data.join("\n"));
      boundary = this.buffer.indexOf("\n\n");
    }
    return events;
  }
}

export type StreamStatus = "connecting" | "live" | "reconnecting" | "stopped";

export interface StreamHandlers<Output extends DescMessage> {
  /** Each frame, parsed as the route's response message. */
  onMessage: (message: MessageShape<Output>) => void;
  onStatus: (status: StreamStatus, detail?: string) => void;
}

export interface StreamOptions<Input extends DescMessage, Output extends DescMessage> {
  route: Route<Input, Output>;
  query?: MessageInitShape<Input>;
  maxBackoffMs: number;
}

/** Opens the stream and keeps it open until the returned function is called. */
export function openStream<Input extends DescMessage, Output extends DescMessage>(
  options: StreamOptions<Input, Output>,
  handlers: StreamHandlers<Output>,
): () => void {
  const controller = new AbortController();
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const run = async (): Promise<void> => {
    handlers.onStatus(attempt === 0 ? "connecting" : "reconnecting");
    try {
      const response = await authorizedFetch(
        options.route,
        { query: options.query, signal: controller.signal },
        "text/event-stream",
      );
      if (!response.body) throw new Error("the stream has no body");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const data of parser.push(value)) {
          let json: unknown;
          try {
            json = JSON.parse(data);
          } catch {
            continue; // a keep-alive or a partial frame: ignore
          }
          // A gRPC error mid-stream arrives as a google.rpc.Status object.
          if (json && typeof json === "object" && "code" in json && "message" in json && !("reading" in json)) {
            const status = json as { code: unknown; message: unknown; details?: { "@type"?: string; reason?: string }[] };
            const reason = status.details?.find((d) => d["@type"]?.endsWith("google.rpc.ErrorInfo"))?.reason ?? "";
            throw new ApiError(500, String(status.message), reason, Number(status.code) || 0);
          }
          handlers.onStatus("live");
          attempt = 0;
          handlers.onMessage(parseMessage(options.route.output, json));
        }
      }
      throw new Error("the stream ended");
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof ApiError && (error.status === 401 || error.status === 403 || error.status === 404)) {
        handlers.onStatus("stopped", errorMessage(error));
        return; // retrying will not help
      }
      attempt += 1;
      const ceiling = Math.min(options.maxBackoffMs, 500 * 2 ** Math.min(attempt, 10));
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      // The user reads the detail: an API error in their words, anything else (the network, a
      // closed stream) as the connection being interrupted, not the browser's English.
      handlers.onStatus("reconnecting", error instanceof ApiError ? errorMessage(error) : messages().common.connectionLost);
      timer = setTimeout(() => void run(), delay);
    }
  };

  void run();
  return () => {
    controller.abort();
    if (timer) clearTimeout(timer);
    handlers.onStatus("stopped");
  };
}
