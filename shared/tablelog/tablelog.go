// Package tablelog is elmcity's log sink and log reader on Azure Table
// storage.
//
// Every role writes entries per hub: a type ("info", "warning",
// "exception", or a free type such as "request"), a message, a detail
// (stack, URL...), the writing role and instance, and a time. The layout in
// the table is:
//
//   - PartitionKey is the hub id, or [System] for system-wide entries. Hub ids
//     match [A-Za-z0-9_-]{1,64} (see [ValidID]); System contains "~", so the
//     two can never collide.
//   - RowKey is "<19 digits of MaxInt64-UnixNano>-<writer tag>-<16 hex digits
//     of MaxUint64-sequence>", so an ascending scan of a partition returns the
//     newest entries first, within one writer later writes sort first even in
//     the same nanosecond, and two writers never collide.
//   - Properties: Type, Message, Detail, Role, Instance, Time (Edm.DateTime)
//     and Attrs (a JSON object of extra string values, optional).
//
// Writing is done three ways: [Log.Write] is synchronous and reports whether
// the entries landed; [Log.Add] enqueues onto a bounded buffer drained by one
// background goroutine and never blocks; [Log.Handler] is a [slog.Handler]
// over Add, so code logs with log/slog and the hub attribute picks the
// partition. Records keep constant messages, stable keys for the stdout
// log; [WithSentences] has the handler write, for curators, the sentence a
// [Sentence] renders from a record's attributes, as the entry's Message.
// [Log.Read] queries a partition newest first with filters and
// page tokens; [Log.Purge] deletes old entries for retention.
//
// No OData filter is ever built from unchecked input: hub ids and types are
// validated with ValidID, page tokens with a strict pattern, and time bounds
// become row-key bounds computed here. Invalid input returns an error
// wrapping [ErrInvalid].
package tablelog

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultTable         = "elmcitylog"
	DefaultBufferSize    = 10000
	DefaultBufferBytes   = 16 << 20
	DefaultFlushInterval = time.Second
)

// Pacing of the background writer while storage fails.
const (
	// writeTimeout bounds one background write, retries included.
	writeTimeout = 30 * time.Second
	// retryFirst and retryLast bound the wait before writing again after a
	// write failed for a transient reason; it doubles each time.
	retryFirst = time.Second
	retryLast  = 30 * time.Second
)

// System is the partition for entries that belong to no hub. It cannot be a
// hub id, because ValidID rejects "~".
const System = "~system"

// Entry types used by the roles and by the slog handler. Any other string
// that passes ValidID is a valid free type.
const (
	TypeDebug     = "debug"
	TypeInfo      = "info"
	TypeWarning   = "warning"
	TypeException = "exception"
	TypeRequest   = "request"
)

// Size limits applied before writing. Azure limits a string property to
// 64 KiB of UTF-16; a UTF-8 string of n bytes never needs more than 2n bytes
// of UTF-16, so these byte limits keep every property, and the entity,
// within bounds. Longer values are cut at a rune boundary and end with a
// "…[truncated, N bytes total]" marker.
const (
	MaxMessageBytes = 4 << 10
	MaxDetailBytes  = 28 << 10
	MaxAttrsBytes   = 16 << 10
)

// ErrInvalid is wrapped by every error caused by invalid input: a bad hub id,
// type, page token, limit, time range or Config.
var ErrInvalid = errors.New("tablelog: invalid input")

// Redacted replaces the value of an attribute whose key looks secret.
const Redacted = "REDACTED"

// ValidID reports whether s is a valid hub id or entry type: 1 to 64 ASCII
// letters, digits, '_' or '-' ([A-Za-z0-9_-]{1,64}). Only such strings are
// ever placed in a query filter.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validTable reports whether s is a valid table name: a letter, then letters
// or digits, 3 to 63 in all.
func validTable(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !isAlnum(c) || i == 0 && '0' <= c && c <= '9' {
			return false
		}
	}
	return true
}

// Config configures a Log. The zero value is usable: every zero field gets
// its default.
type Config struct {
	// Table is the table name, default DefaultTable.
	Table string
	// Role and Instance are stamped on every entry written through this Log
	// that does not carry its own.
	Role, Instance string
	// BufferSize is how many entries Add can hold before it drops, default
	// DefaultBufferSize.
	BufferSize int
	// BufferBytes bounds the entries the background writer holds that are
	// not written yet, in bytes, default DefaultBufferBytes. While storage
	// is unreachable it keeps them and writes them when storage is back;
	// only entries that find it full are dropped.
	BufferBytes int64
	// FlushInterval is how often the background writer writes what it has,
	// default DefaultFlushInterval.
	FlushInterval time.Duration
	// Logger receives the Log's own failures and drop reports (typically the
	// stdout JSON logger). It must never be a logger that writes to this
	// table. Nil discards them.
	Logger *slog.Logger
	// Now is the clock used to stamp entries without a Time, default
	// time.Now.
	Now func() time.Time
}

const maxRoleBytes = 256

func (c Config) withDefaults() (Config, error) {
	c.Table = cmp.Or(c.Table, DefaultTable)
	c.BufferSize = cmp.Or(c.BufferSize, DefaultBufferSize)
	c.BufferBytes = cmp.Or(c.BufferBytes, DefaultBufferBytes)
	c.FlushInterval = cmp.Or(c.FlushInterval, DefaultFlushInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	var errs []error
	if !validTable(c.Table) {
		errs = append(errs, fmt.Errorf("%w: table name %q", ErrInvalid, c.Table))
	}
	if c.BufferSize < 0 || c.BufferBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: buffer size %d, %d bytes", ErrInvalid, c.BufferSize, c.BufferBytes))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: flush interval %v", ErrInvalid, c.FlushInterval))
	}
	if len(c.Role) > maxRoleBytes || len(c.Instance) > maxRoleBytes {
		errs = append(errs, fmt.Errorf("%w: role or instance longer than %d bytes", ErrInvalid, maxRoleBytes))
	}
	return c, errors.Join(errs...)
}

// Entry is one log entry.
type Entry struct {
	// ID is the RowKey. Read sets it; writers ignore it and assign a new one.
	ID string
	// Hub is the partition: a hub id, System, or "" for System.
	Hub string
	// Type is TypeInfo, TypeWarning, TypeException or a free type such as
	// TypeRequest; "" means TypeInfo.
	Type string
	// Message is the one-line text, cut to MaxMessageBytes.
	Message string
	// Detail holds a stack trace, a URL or other long text, cut to
	// MaxDetailBytes.
	Detail string
	// Role and Instance default to the Log's Config.
	Role, Instance string
	// Time defaults to Config.Now(). It must lie between 1970 and 2262, or
	// the entry is rejected with ErrInvalid.
	Time time.Time
	// Attrs holds extra values, stored as one JSON object of at most
	// MaxAttrsBytes (values over 2 KiB are cut; keys that do not fit are
	// left out and counted under "attrs_truncated"). Values of keys that
	// look secret (token, password, secret, authorization, ...key) are
	// replaced by Redacted. The map is copied; the caller may reuse it.
	Attrs map[string]string
}

// Log writes entries to, and reads them from, one table. It is safe for
// concurrent use. Open starts a background writer that Close stops.
type Log struct {
	client *aztables.Client
	table  string
	role   string
	inst   string
	logger *slog.Logger
	now    func() time.Time
	tag    string
	seq    atomic.Uint64

	interval    time.Duration
	bufferSize  int
	bufferBytes int64

	mu     sync.RWMutex // guards closed against Add's send
	closed bool
	buf    chan Entry
	flushc chan chan flushResult
	quit   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc

	dropped   atomic.Uint64
	lastDrop  atomic.Pointer[string]
	closeOnce sync.Once
	closeErr  error // set by the writer before done is closed
}

type flushResult struct {
	failed int
	err    error
}

// Open returns a Log on cfg.Table, creating the table if it does not exist,
// and starts its background writer. Config errors wrap ErrInvalid; storage
// errors are wrapped by azstorage.Wrap.
func Open(ctx context.Context, acct *azstorage.Account, cfg Config) (*Log, error) {
	if acct == nil {
		return nil, fmt.Errorf("open table log: %w: nil account", ErrInvalid)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open table log: %w", err)
	}
	if _, err := acct.Tables().CreateTable(ctx, cfg.Table, nil); err != nil {
		err = azstorage.Wrap(err)
		if !errors.Is(err, azstorage.ErrConflict) || azstorage.ErrorCode(err) == "TableBeingDeleted" {
			return nil, fmt.Errorf("open table log: create table %s: %w", cfg.Table, err)
		}
	}
	var tag [6]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return nil, fmt.Errorf("open table log: writer tag: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Log{
		client:      acct.Tables().NewClient(cfg.Table),
		table:       cfg.Table,
		role:        cfg.Role,
		inst:        cfg.Instance,
		logger:      cfg.Logger,
		now:         cfg.Now,
		tag:         hex.EncodeToString(tag[:]),
		interval:    cfg.FlushInterval,
		bufferSize:  cfg.BufferSize,
		bufferBytes: cfg.BufferBytes,
		buf:         make(chan Entry, cfg.BufferSize),
		flushc:      make(chan chan flushResult),
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
		cancel:      cancel,
	}
	go l.run(runCtx)
	return l, nil
}

// Add validates e, stamps it like Write does and enqueues it for the
// background writer without blocking. It returns false, and counts a drop,
// when e is invalid, the buffer is full or the Log is closed.
func (l *Log) Add(e Entry) bool {
	e, err := l.prepare(e)
	if err != nil {
		l.drop(err.Error())
		return false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.drop("log closed")
		return false
	}
	select {
	case l.buf <- e:
		return true
	default:
		l.drop("buffer full")
		return false
	}
}

func (l *Log) drop(reason string) {
	l.dropped.Add(1)
	l.lastDrop.Store(&reason)
}

// Dropped returns how many entries were lost so far: refused by Add (buffer
// full, invalid, closed) or given up by the background writer after retries.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Flush writes everything added before the call and waits until it landed
// or ctx is done. Entries the writer could not store are reported through
// Config.Logger and make Flush return an error. After Close, Flush returns
// nil at once.
func (l *Log) Flush(ctx context.Context) error {
	reply := make(chan flushResult, 1)
	select {
	case l.flushc <- reply:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush table log %s: %w", l.table, ctx.Err())
	}
	select {
	case r := <-reply:
		if r.failed > 0 {
			return fmt.Errorf("flush table log %s: %d entries not written: %w", l.table, r.failed, r.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush table log %s: %w", l.table, ctx.Err())
	}
}

// Close stops accepting entries, writes everything buffered and stops the
// background writer. If ctx ends first, in-flight writes are cancelled and
// the entries not yet written are counted as dropped. Close is idempotent;
// later calls return the first call's result once the writer has stopped.
func (l *Log) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.quit)
	})
	select {
	case <-l.done:
	case <-ctx.Done():
		l.cancel()
		<-l.done
	}
	l.cancel()
	return l.closeErr
}

// run is the background writer: it drains the buffer into per-partition
// batches and writes a batch when it is full, when the flush interval passes,
// on Flush and on Close. Entries whose write failed for a transient reason
// (storage down or frozen) are kept and written again after a backoff, up
// to Config.BufferBytes; only entries that find that full are dropped.
func (l *Log) run(ctx context.Context) {
	defer close(l.done)
	ticker := time.NewTicker(l.interval)
	defer ticker.Stop()
	w := &writer{l: l, p: newPending()}
	for {
		select {
		case e := <-l.buf:
			w.take(ctx, e)
		case <-ticker.C:
			if w.ready() {
				w.attempt(ctx, w.p.takeAll(), "interval")
			}
			w.reported = l.reportDrops(w.reported)
		case reply := <-l.flushc:
			// Everything added before Flush was called is in the buffer now.
			for n := len(l.buf); n > 0; n-- {
				w.take(ctx, <-l.buf)
			}
			o := w.attempt(ctx, w.p.takeAll(), "flush")
			reply <- flushResult{failed: o.undone(), err: o.err}
		case <-l.quit:
			// Add refuses new entries once closed is set, so this ends.
			for len(l.buf) > 0 {
				w.take(ctx, <-l.buf)
			}
			o := w.drain(ctx)
			l.reportDrops(w.reported)
			if o.undone() > 0 {
				l.closeErr = fmt.Errorf("close table log %s: %d entries not written: %w", l.table, o.undone(), o.err)
			}
			return
		}
	}
}

// writer is the background writer's state.
type writer struct {
	l        *Log
	p        *pending
	backoff  time.Duration // 0 while writes succeed
	retryAt  time.Time     // no write before, unless flushing or closing
	reported uint64
}

// ready reports whether a write may be tried now: not while backing off
// after a transient failure.
func (w *writer) ready() bool { return w.backoff == 0 || !time.Now().Before(w.retryAt) }

// take adds e to the pending batches, or drops it when they hold
// Config.BufferBytes already, and writes its partition's batch once it is
// full, or everything once the pending entries reach the buffer size.
func (w *writer) take(ctx context.Context, e Entry) {
	if w.p.bytes+entrySize(e) > w.l.bufferBytes {
		w.l.drop("buffer full while storage is unreachable")
		return
	}
	n := w.p.add(e)
	if !w.ready() {
		return
	}
	switch {
	case n >= maxBatchEntities:
		w.attempt(ctx, w.p.takePartition(e.Hub), "full batch")
	case w.p.total >= w.l.bufferSize:
		w.attempt(ctx, w.p.takeAll(), "pending limit")
	}
}

// attempt writes entries once, within writeTimeout. Entries that failed
// for a transient reason go back to the pending batches and the writer
// backs off; entries refused for good are dropped and reported.
func (w *writer) attempt(ctx context.Context, entries []Entry, why string) outcome {
	if len(entries) == 0 {
		return outcome{}
	}
	l := w.l
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	o := l.write(wctx, entries)
	cancel()
	if o.failed > 0 {
		l.dropped.Add(uint64(o.failed))
		l.logger.LogAttrs(ctx, slog.LevelError, "table log write failed",
			slog.String("table", l.table), slog.String("trigger", why),
			slog.Int("entries", len(entries)), slog.Int("entries_failed", o.failed), slog.String("error", o.err.Error()))
	}
	switch {
	case len(o.retry) > 0:
		for _, e := range o.retry {
			w.p.add(e)
		}
		if w.backoff == 0 {
			l.logger.LogAttrs(ctx, slog.LevelWarn, "table log cannot write; keeping entries until storage answers",
				slog.String("table", l.table), slog.Int("held", w.p.total), slog.Int64("held_bytes", w.p.bytes),
				slog.String("error", o.err.Error()))
		}
		w.backoff = min(max(2*w.backoff, retryFirst), retryLast)
		w.retryAt = time.Now().Add(w.backoff)
	case w.backoff != 0:
		w.backoff = 0
		l.logger.LogAttrs(ctx, slog.LevelInfo, "table log writes again", slog.String("table", l.table), slog.Int("held", w.p.total))
	}
	return o
}

// drain writes everything pending on Close, trying again after each
// backoff until it is written or ctx ends; what is left is dropped.
func (w *writer) drain(ctx context.Context) outcome {
	for {
		o := w.attempt(ctx, w.p.takeAll(), "close")
		if len(o.retry) == 0 {
			return o
		}
		t := time.NewTimer(time.Until(w.retryAt))
		select {
		case <-ctx.Done():
			t.Stop()
			left := w.p.takeAll()
			w.l.dropped.Add(uint64(len(left)))
			return outcome{failed: o.failed + len(left), err: o.err}
		case <-t.C:
		}
	}
}

// entrySize estimates the memory an entry holds.
func entrySize(e Entry) int64 {
	n := 256 + len(e.ID) + len(e.Hub) + len(e.Type) + len(e.Message) + len(e.Detail) + len(e.Role) + len(e.Instance)
	for k, v := range e.Attrs {
		n += 32 + len(k) + len(v)
	}
	return int64(n)
}

func (l *Log) reportDrops(reported uint64) uint64 {
	n := l.dropped.Load()
	if n == reported {
		return n
	}
	attrs := []slog.Attr{
		slog.String("table", l.table),
		slog.Uint64("dropped", n-reported),
		slog.Uint64("dropped_total", n),
	}
	if r := l.lastDrop.Load(); r != nil {
		attrs = append(attrs, slog.String("last_reason", *r))
	}
	l.logger.LogAttrs(context.Background(), slog.LevelWarn, "table log dropped entries", attrs...)
	return n
}

// pending holds entries taken from the buffer, per partition, in arrival
// order.
type pending struct {
	parts map[string][]Entry
	order []string
	total int
	bytes int64 // entrySize of the entries held
}

func newPending() *pending { return &pending{parts: make(map[string][]Entry)} }

// add appends e and returns the size of its partition's batch.
func (p *pending) add(e Entry) int {
	b, ok := p.parts[e.Hub]
	if !ok {
		p.order = append(p.order, e.Hub)
	}
	b = append(b, e)
	p.parts[e.Hub] = b
	p.total++
	p.bytes += entrySize(e)
	return len(b)
}

func (p *pending) takePartition(hub string) []Entry {
	b := p.parts[hub]
	p.total -= len(b)
	for _, e := range b {
		p.bytes -= entrySize(e)
	}
	p.parts[hub] = nil // keep its place in order; takeAll clears it
	return b
}

func (p *pending) takeAll() []Entry {
	if p.total == 0 {
		clear(p.parts)
		p.order = p.order[:0]
		return nil
	}
	out := make([]Entry, 0, p.total)
	for _, hub := range p.order {
		out = append(out, p.parts[hub]...)
	}
	clear(p.parts)
	p.order = p.order[:0]
	p.total, p.bytes = 0, 0
	return out
}
