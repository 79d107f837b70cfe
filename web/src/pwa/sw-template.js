// The service worker (emitted as /sw.js by vite.config.ts with this build's id and file list).
// App shell: every built file is cached at install; pages open offline from it. API reads are
// network-first with the last answer kept, so pages already loaded still show their data offline.
// Live streams, downloads and changes always go to the network.
const BUILD = "__BUILD_ID__";
const SHELL = `reefline-shell-${BUILD}`;
const DATA = "reefline-api";
const FILES = __BUILD_FILES__;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(["/", ...FILES.map((f) => `/${f}`)]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      // Keep the two builds before this one: a tab still running an older build can load its lazy chunks.
      .then((keys) => {
        const shells = keys.filter((k) => k.startsWith("reefline-shell-") && k !== SHELL);
        return Promise.all(shells.slice(0, -2).map((k) => caches.delete(k)));
      })
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "signed-out") event.waitUntil(caches.delete(DATA));
});

function isLive(url) {
  return url.pathname.endsWith("/events") || url.pathname.includes("/download") || url.pathname.startsWith("/api/auth/");
}

async function networkFirst(request, cacheName) {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const cache = await caches.open(cacheName);
      await cache.put(request, response.clone());
    }
    return response;
  } catch {
    const cached = await caches.match(request, { cacheName });
    const headers = new Headers(cached?.headers);
    headers.set("x-reefline-cache", "offline");
    if (cached) return new Response(cached.body, { status: cached.status, statusText: cached.statusText, headers });
    headers.set("content-type", "application/json");
    const body = { error: { code: "offline", message: "the server cannot be reached, and this page was not loaded before", details: {} } };
    return new Response(JSON.stringify(body), { status: 503, headers });
  }
}

async function shellFirst(request) {
  const cached = await caches.match(request);
  return cached ?? fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) {
    if (!isLive(url)) event.respondWith(networkFirst(request, DATA));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => caches.match("/", { cacheName: SHELL }).then((r) => r ?? Response.error())),
    );
    return;
  }
  event.respondWith(shellFirst(request));
});
