// Package logtest records slog records for assertions in tests: a
// slog.Handler that keeps every record with its attributes (including
// those added with WithAttrs) as strings.
package logtest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Record is one recorded log record.
type Record struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

// Recorder is a slog.Handler that keeps every record. Handlers derived
// with WithAttrs and WithGroup record into the same Recorder. The zero
// value is ready to use.
type Recorder struct {
	mu     sync.Mutex
	recs   []Record
	root   *Recorder
	attrs  []slog.Attr
	prefix string
}

func (r *Recorder) base() *Recorder {
	if r.root != nil {
		return r.root
	}
	return r
}

// Enabled records every level.
func (r *Recorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle records rec.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	attrs := make(map[string]string, rec.NumAttrs()+len(r.attrs))
	for _, a := range r.attrs {
		attrs[a.Key] = a.Value.Resolve().String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[r.prefix+a.Key] = a.Value.Resolve().String()
		return true
	})
	b := r.base()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recs = append(b.recs, Record{Level: rec.Level, Msg: rec.Message, Attrs: attrs})
	return nil
}

// WithAttrs returns a handler that adds attrs to every record.
func (r *Recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := &Recorder{root: r.base(), prefix: r.prefix, attrs: append([]slog.Attr(nil), r.attrs...)}
	for _, a := range attrs {
		c.attrs = append(c.attrs, slog.Attr{Key: r.prefix + a.Key, Value: a.Value})
	}
	return c
}

// WithGroup returns a handler that prefixes later keys with name + ".".
func (r *Recorder) WithGroup(name string) slog.Handler {
	return &Recorder{root: r.base(), attrs: r.attrs, prefix: r.prefix + name + "."}
}

// Records returns a copy of everything recorded so far.
func (r *Recorder) Records() []Record {
	b := r.base()
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Record(nil), b.recs...)
}

// Find returns the records whose message contains msg.
func (r *Recorder) Find(msg string) []Record {
	var out []Record
	for _, rec := range r.Records() {
		if strings.Contains(rec.Msg, msg) {
			out = append(out, rec)
		}
	}
	return out
}
