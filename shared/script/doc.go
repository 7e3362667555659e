// Package script runs elmcity's JavaScript scripts in goja: query scripts
// behind the web role's /services/{hub}/{what} and maintenance scripts on
// the worker's timers. No goja type crosses the package boundary; roles
// declare the one method they need:
//
//	type scriptRunner interface {
//		Run(ctx context.Context, req script.Request) (string, error)
//	}
//
// # Scripts
//
// Config.Source is a local folder (default "scripts", the repository's
// scripts/ folder) or a base URL. Names are relative paths of
// [A-Za-z0-9_./-] ending in .js (added when missing), with no "..", no
// hidden segments and no leading "/". The folder's layout is one
// convention:
//
//	services/<what>.js     query scripts; the web role runs
//	                       services/<what>.js for /services/{hub}/{what}
//	                       with argv = [hub, what] and params = the query
//	maintenance/<name>.js  maintenance scripts, run by the worker
//	lib/<name>.js          modules the others require
//
// A run sees these globals, and nothing of Node or the browser:
//
//	argv      array of strings, Request.Argv
//	params    read-only object of strings, Request.Params
//	console   log, info and debug (Info or Debug), warn (Warn), error
//	          (Error): logged through Config.Logger with "hub" (when the
//	          run has one) and "script", so the table log files them under
//	          the hub as info, warning and exception entries
//	elmcity   the host API (below)
//	require   CommonJS require (below)
//
// The script's output is the global variable result: a string as it is,
// an object or array as JSON, anything else through String(). Leaving it
// undefined is an error.
//
// # Host API
//
// Request.Host supplies the data; capabilities are checked here, not by
// the host. Every run with a host may read, and a query run may read only
// its own hub (Request.Hub), which is also the default hub argument:
//
//	elmcity.hub, elmcity.maintenance   the run's hub and capability
//	elmcity.now()                      Config.Now as an RFC 3339 string
//	elmcity.readLog({hub, types, since, until, include, exclude, limit, after})
//	                                   -> {entries, next}; entries newest
//	                                   first, each {id, hub, type, time,
//	                                   ms, message, detail, role, instance,
//	                                   attrs}, time being RFC 3339 (UTC,
//	                                   seconds) and ms milliseconds since
//	                                   the epoch
//	elmcity.hubInfo([hub])             the hub record
//	elmcity.feeds([hub])               the hub's feeds, as the REST API shows them
//	elmcity.events([hub], [limit])     the hub's published events
//
// Maintenance runs (Request.Maintenance with a MaintenanceHost) may also
// change things; in a query run these throw a CapabilityError (errors.Is
// ErrCapability), such as "elmcity.enqueue is a maintenance function;
// query scripts cannot call it":
//
//	elmcity.writeLog({hub, type, message, detail, attrs})
//	elmcity.purgeLog(hub, olderThan)   -> number deleted
//	elmcity.enqueue(hub, reason)       -> job id
//	elmcity.hubs()                     -> every hub id
//
// Times given to the host API may be Dates, milliseconds, RFC 3339
// strings, dates ("2024-05-01") or durations meaning that long ago
// ("24h"). Lists may be arrays or comma-separated strings.
//
// # Adapters
//
// Engine.RunAdapter runs adapters/<name>.js for a hub's script feed with
// the adapter capability and no host: argv is [feedURL], elmcity.source
// is the response the worker fetched at the feed's URL, and
// elmcity.fetch(url, {headers}) -> {url, status, headers, body} gets
// pages through AdapterRequest.Fetcher (the feed fetcher's rules) on the
// feed's host and AdapterRequest.Hosts only, at most
// AdapterRequest.MaxFetches times (ErrCapability, ErrLimit). In other
// runs elmcity.source is null and elmcity.fetch throws a
// CapabilityError. The result must be an array of event objects, which
// feedkind.WriteEvents validates and writes as iCalendar; see
// RunAdapter.
//
// # Limits
//
// Each run gets a fresh runtime (goja.New costs about a microsecond, and a
// Runtime cannot be reset, so nothing leaks between runs or hubs) running
// a program compiled once per content hash. Config sets the wall time
// (Timeout, enforced with Runtime.Interrupt when the context ends; the
// error matches context.DeadlineExceeded), the call depth, the result
// size, the data host functions may hand one run (checked before any
// JavaScript value is made), console volume, and module size and count.
// goja has no heap limit, and Interrupt does not stop a native call, so
// the host functions check sizes themselves; a script can still allocate
// memory with built-ins (such as "x".repeat(n)) until its time is up.
//
// # Modules
//
// require() takes a path relative to the requiring module ("./x",
// "../lib/x"; ".js" is added when missing), an absolute https:// URL, or
// a bare name mapped by Config.Imports (remote packages: "std/" ->
// "https://example.org/std@1.2/"). A module is evaluated once per run,
// CommonJS style (exports, module.exports, __filename, __dirname; cycles
// see partial exports). Relative paths from a remote module resolve
// against its URL, so a remote module can never reach a local file.
// http:// is allowed only on loopback (for tests). Static require("...")
// calls are fetched before the script's clock starts; dynamic ones count
// against it.
//
// Remote modules go through one pipeline:
//
//   - Cache: verified copies are kept in memory and, with Config.CacheDir,
//     on disk, content-addressed. Within Config.CacheTTL a copy is used
//     as it is; after it, the origin is asked with If-None-Match and
//     If-Modified-Since, and a 304 keeps the copy.
//   - Credentials: Config.AuthTokens, in the DENO_AUTH_TOKENS form
//     ("token@host[:port];user:pass@host"), adds a bearer token or basic
//     credentials to requests for that exact host only, hop by hop, so a
//     redirect to another host never carries them. They are never logged.
//   - Integrity: with Config.Lock = LockVerify, a module must be listed in
//     Config.LockFile ({"version": 1, "remote": {URL: sha256}}) with its
//     hash; a mismatch fails with ErrIntegrity naming the URL and both
//     hashes. LockUpdate records hashes instead.
//   - Signatures: with Config.Signatures, "<url>.minisig" is fetched and
//     checked against Config.TrustedKeys (minisign Ed25519). The signed
//     trusted comment must name the URL ("file:<url>", as SignModule
//     writes), so a signed file cannot be served under another name.
//     SignaturesRequire also refuses unsigned modules.
//   - Changed content replaces the cached copy only after it passes the
//     lock and signature policy; otherwise the run fails and the copy
//     stays.
//   - Offline: when the origin is unreachable or answers 5xx, the last
//     verified copy runs (state "stale") and a warning is logged with the
//     run's hub; with nothing cached the run fails with ErrUnavailable.
//   - Provenance: every run logs "script modules" with each module's URL
//     or name, SHA-256, signer and state (local, fresh, revalidated,
//     fetched or stale), at Info when a remote module was used and at
//     Debug otherwise.
//
// The elmcity-script command (cmd/elmcity-script) makes keys, signs
// scripts and writes the lock file.
package script
