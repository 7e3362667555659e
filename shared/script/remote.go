package script

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// maxSigBytes caps a signature file.
const maxSigBytes = 4096

// remoteEntry is the last verified copy of a remote module.
type remoteEntry struct {
	m          *module
	etag       string
	lastMod    string
	sig        []byte
	validated  time.Time // when the origin last confirmed or served it
	retryAfter time.Time // after a failed fetch: serve stale until then
}

func (ent *remoteEntry) meta(url string) *cacheMeta {
	return &cacheMeta{URL: url, SHA256: ent.m.hash, ETag: ent.etag, LastModified: ent.lastMod,
		ValidatedAt: ent.validated, Signature: string(ent.sig)}
}

// logFunc logs a record with the run's hub and script.
type logFunc func(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr)

// loadRemote returns the module at u: the cached copy within the TTL,
// else after revalidating or fetching it, applying the lock and
// signature policy to new content, and falling back to the last verified
// copy when the origin is down. It returns how it got the module:
// "fresh", "revalidated", "fetched" or "stale".
func (e *Engine) loadRemote(ctx context.Context, u *url.URL, logf logFunc) (*module, string, error) {
	key := u.String()
	release, err := e.acquire(ctx, key)
	if err != nil {
		return nil, "", fmt.Errorf("load %s: %w", key, err)
	}
	defer release()

	ent := e.cachedEntry(u)
	now := e.now()
	if ent != nil && (e.cfg.CacheTTL > 0 && now.Sub(ent.validated) < e.cfg.CacheTTL || now.Before(ent.retryAfter)) {
		state := "fresh"
		if now.Before(ent.retryAfter) {
			state = "stale"
		}
		if err := e.checkLock(ctx, key, ent.m.hash, logf); err != nil {
			return nil, "", err
		}
		return ent.m, state, nil
	}

	res, err := e.get(ctx, u, ent, e.cfg.MaxModuleBytes)
	unchanged := err == nil && ent != nil && (res.notModified || hashOf(res.body) == ent.m.hash)
	var sig []byte
	signer := ""
	if err == nil && !unchanged {
		sig, signer, err = e.fetchSignature(ctx, u, res.body)
	}
	switch {
	case errors.Is(err, ErrUnavailable) && ent != nil:
		ent.retryAfter = now.Add(e.cfg.StaleRetry)
		logf(ctx, slog.LevelWarn, "script module origin unavailable; running the last verified copy",
			slog.String("url", key), slog.String("sha256", ent.m.hash),
			slog.Time("validated_at", ent.validated), slog.String("error", err.Error()))
		if err := e.checkLock(ctx, key, ent.m.hash, logf); err != nil {
			return nil, "", err
		}
		return ent.m, "stale", nil
	case err != nil:
		return nil, "", err
	case unchanged:
		// Unchanged: the cached copy is still good.
		ent.validated, ent.retryAfter = now, time.Time{}
		ent.etag, ent.lastMod = cmpOr(res.etag, ent.etag), cmpOr(res.lastMod, ent.lastMod)
		if err := e.checkLock(ctx, key, ent.m.hash, logf); err != nil {
			return nil, "", err
		}
		e.persist(ctx, key, ent, nil, logf)
		return ent.m, "revalidated", nil
	}
	m := newModule(moduleID{url: u}, res.body, signer)
	if err := e.checkLock(ctx, key, m.hash, logf); err != nil {
		return nil, "", err
	}
	ent = &remoteEntry{m: m, etag: res.etag, lastMod: res.lastMod, sig: sig, validated: now}
	e.remoteMu.Lock()
	e.remote[key] = ent
	e.remoteMu.Unlock()
	e.persist(ctx, key, ent, res.body, logf)
	return m, "fetched", nil
}

// acquire serialises loads of one URL, so concurrent runs fetch it once.
func (e *Engine) acquire(ctx context.Context, key string) (func(), error) {
	for {
		e.remoteMu.Lock()
		ch, busy := e.inflight[key]
		if !busy {
			ch = make(chan struct{})
			e.inflight[key] = ch
			e.remoteMu.Unlock()
			return func() {
				e.remoteMu.Lock()
				delete(e.inflight, key)
				e.remoteMu.Unlock()
				close(ch)
			}, nil
		}
		e.remoteMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// cachedEntry returns the in-memory entry, or loads it from the disk
// cache, checking its signature again under the current keys. A disk
// entry that fails is ignored.
func (e *Engine) cachedEntry(u *url.URL) *remoteEntry {
	key := u.String()
	e.remoteMu.Lock()
	ent := e.remote[key]
	e.remoteMu.Unlock()
	if ent != nil || e.cache == nil {
		return ent
	}
	meta, body, err := e.cache.load(key, e.cfg.MaxModuleBytes)
	if err != nil {
		return nil
	}
	signer := ""
	if e.cfg.Signatures != SignaturesOff {
		if meta.Signature == "" {
			if e.cfg.Signatures == SignaturesRequire {
				return nil
			}
		} else if signer, err = VerifyModule(e.keys, key, body, []byte(meta.Signature)); err != nil {
			return nil
		}
	}
	ent = &remoteEntry{m: newModule(moduleID{url: u}, body, signer), etag: meta.ETag, lastMod: meta.LastModified,
		sig: []byte(meta.Signature), validated: meta.ValidatedAt}
	e.remoteMu.Lock()
	e.remote[key] = ent
	e.remoteMu.Unlock()
	return ent
}

// persist writes an entry to the disk cache; a failure is logged, since
// the module itself is fine.
func (e *Engine) persist(ctx context.Context, key string, ent *remoteEntry, body []byte, logf logFunc) {
	if e.cache == nil {
		return
	}
	var err error
	if body == nil {
		err = e.cache.storeMeta(ent.meta(key))
	} else {
		err = e.cache.store(ent.meta(key), body)
	}
	if err != nil {
		logf(ctx, slog.LevelWarn, "script module cache write failed", slog.String("url", key), slog.String("error", err.Error()))
	}
}

// checkLock applies the lock file policy to url's content hash.
func (e *Engine) checkLock(ctx context.Context, url, hash string, logf logFunc) error {
	switch {
	case e.lock == nil:
		return nil
	case e.cfg.Lock == LockUpdate:
		changed, err := e.lock.set(url, hash)
		if err != nil {
			return fmt.Errorf("lock %s: %w", url, err)
		}
		if changed {
			logf(ctx, slog.LevelInfo, "script lock file updated", slog.String("url", url), slog.String("sha256", hash))
		}
		return nil
	}
	want, ok := e.lock.get(url)
	if !ok {
		return fmt.Errorf("%w: %s is not in lock file %s (add it with elmcity-script lock)", ErrIntegrity, url, e.lock.path)
	}
	if want != hash {
		return fmt.Errorf("%w: %s: lock file %s has sha256 %s, the content has sha256 %s", ErrIntegrity, url, e.lock.path, want, hash)
	}
	return nil
}

// fetchSignature gets and checks "<url>.minisig" per the signature mode,
// returning the signature and its key ID.
func (e *Engine) fetchSignature(ctx context.Context, u *url.URL, body []byte) ([]byte, string, error) {
	if e.cfg.Signatures == SignaturesOff {
		return nil, "", nil
	}
	su := *u
	su.Path += SigSuffix
	su.RawPath = ""
	res, err := e.get(ctx, &su, nil, maxSigBytes)
	if errors.Is(err, ErrNotFound) {
		if e.cfg.Signatures == SignaturesRequire {
			return nil, "", fmt.Errorf("%w: %s is unsigned (no %s) and signatures are required", ErrIntegrity, u, su.String())
		}
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	signer, err := VerifyModule(e.keys, u.String(), body, res.body)
	if err != nil {
		return nil, "", err
	}
	return res.body, signer, nil
}

// fetchResult is an HTTP answer.
type fetchResult struct {
	body        []byte
	etag        string
	lastMod     string
	notModified bool
}

// get fetches u, conditionally when ent is given. Network errors,
// timeouts and 5xx answers wrap ErrUnavailable; 404 and 410 wrap
// ErrNotFound; a body over limit wraps ErrLimit.
func (e *Engine) get(ctx context.Context, u *url.URL, ent *remoteEntry, limit int64) (*fetchResult, error) {
	fctx, cancel := context.WithTimeout(ctx, e.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	req.Header.Set("User-Agent", "elmcity-script")
	req.Header.Set("Accept", "application/javascript, text/javascript, text/plain;q=0.9, */*;q=0.1")
	if ent != nil {
		if ent.etag != "" {
			req.Header.Set("If-None-Match", ent.etag)
		}
		if ent.lastMod != "" {
			req.Header.Set("If-Modified-Since", ent.lastMod)
		}
	}
	resp, err := e.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetch %s: %w", u, ctx.Err())
		}
		if errors.Is(err, ErrInvalidName) {
			return nil, fmt.Errorf("fetch %s: %w", u, err)
		}
		return nil, fmt.Errorf("%w: fetch %s: %w", ErrUnavailable, u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && ent != nil:
		return &fetchResult{notModified: true, etag: resp.Header.Get("ETag"), lastMod: resp.Header.Get("Last-Modified")}, nil
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%w: fetch %s: %s", ErrNotFound, u, resp.Status)
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: fetch %s: %s", ErrUnavailable, u, resp.Status)
	default:
		return nil, fmt.Errorf("fetch %s: %s", u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: fetch %s: %d bytes, over %d", ErrLimit, u, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetch %s: %w", u, ctx.Err())
		}
		return nil, fmt.Errorf("%w: fetch %s: %w", ErrUnavailable, u, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: fetch %s: over %d bytes", ErrLimit, u, limit)
	}
	return &fetchResult{body: body, etag: resp.Header.Get("ETag"), lastMod: resp.Header.Get("Last-Modified")}, nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ReadFile returns a data file of the script source by its slash-separated
// name, such as maintenance/schedule.json: read from the source folder, or
// fetched from a URL source as require() fetches modules (per-host auth,
// the cache with revalidation, lock pins, signatures, and the last
// verified copy while the origin is down), so a file that steers the
// scripts is held to the scripts' own rules. Names follow the rules of
// script names but end in .json. A file that does not exist is
// ErrNotFound; one over the module size limit is ErrLimit.
func (e *Engine) ReadFile(ctx context.Context, name string) ([]byte, error) {
	if path.Ext(name) != ".json" {
		return nil, fmt.Errorf("%w: %q: data files end in .json", ErrInvalidName, name)
	}
	if _, err := cleanName(strings.TrimSuffix(name, ".json") + ".js"); err != nil {
		return nil, err
	}
	if e.base == nil {
		m, err := e.loadLocal(name)
		if err != nil {
			return nil, err
		}
		return []byte(m.src), nil
	}
	u, err := parseModuleURL(e.base.JoinPath(name).String())
	if err != nil {
		return nil, err
	}
	m, _, err := e.loadRemote(ctx, u, func(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
		e.log.LogAttrs(ctx, level, msg, append([]slog.Attr{slog.String("file", name)}, attrs...)...)
	})
	if err != nil {
		return nil, err
	}
	return []byte(m.src), nil
}
