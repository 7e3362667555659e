package tablelog

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Attribute keys the handler gives a meaning. They are recognised at the
// top level and inside groups opened with WithGroup, but not inside a
// slog.Group attribute value (so slog.Group("http", "type", "text/html")
// stays an ordinary attribute "http.type").
const (
	// KeyHub selects the partition. A value that fails ValidID sends the
	// record to System and is kept in Attrs.
	KeyHub = "hub"
	// KeyType, with a string value that passes ValidID, overrides the type
	// derived from the level (for free types such as "request").
	KeyType = "type"
	// KeyDetail becomes Entry.Detail.
	KeyDetail = "detail"
	// KeyStack is appended to Entry.Detail on a new line.
	KeyStack = "stack"
)

// HandlerOptions configures Log.Handler.
type HandlerOptions struct {
	// Level is the minimum level for records with a hub, default
	// slog.LevelInfo.
	Level slog.Leveler
	// SystemLevel is the minimum level for records without a (valid) hub,
	// which go to the System partition, default slog.LevelWarn.
	SystemLevel slog.Leveler
}

// Handler returns a slog.Handler that turns records into entries and
// enqueues them with Add, so logging never blocks on the table. The level
// gives the type: Error and above "exception", Warn "warning", Info "info",
// below "debug". Message is the record's message, or the sentence
// WithSentences gives it (see Sentence); other attributes go to
// Attrs as strings, groups flattened as "group.key", with secret-looking
// keys redacted. Handle never returns an error: a record the buffer cannot
// take is counted by Dropped. The handler must not be used for
// Config.Logger of the same Log.
func (l *Log) Handler(opts HandlerOptions) slog.Handler {
	h := &handler{log: l, level: opts.Level, systemLevel: opts.SystemLevel}
	if h.level == nil {
		h.level = slog.LevelInfo
	}
	if h.systemLevel == nil {
		h.systemLevel = slog.LevelWarn
	}
	return h
}

// handler is immutable once built; WithAttrs and WithGroup return copies.
type handler struct {
	log         *Log
	level       slog.Leveler
	systemLevel slog.Leveler
	prefix      string // open groups, "a.b."
	fields             // from WithAttrs
}

// fields collects what the attributes of a record say.
type fields struct {
	hub, typ, detail, stack string
	attrs                   []attr
	sentence                Sentence // from WithSentences' mark
}

type attr struct{ key, value string }

var _ slog.Handler = (*handler)(nil)

// Enabled reports whether a record at level can be written: with a hub
// known from WithAttrs the hub level applies; otherwise the lower of the two
// levels, and Handle decides once it sees the record's attributes.
func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	floor := h.level.Level()
	if h.hub == "" {
		floor = min(floor, h.systemLevel.Level())
	}
	return level >= floor
}

// Handle converts r to an Entry and adds it to the Log's buffer.
func (h *handler) Handle(_ context.Context, r slog.Record) error {
	f := h.fields
	f.attrs = slices.Clip(f.attrs) // appends below must not touch h's array
	r.Attrs(func(a slog.Attr) bool {
		f.collect(h.prefix, a, false)
		return true
	})
	floor := h.systemLevel.Level()
	if f.hub != "" {
		floor = h.level.Level()
	}
	if r.Level < floor {
		return nil
	}
	e := Entry{
		Hub:     f.hub,
		Type:    f.typ,
		Message: r.Message,
		Detail:  f.detail,
		Time:    r.Time,
	}
	if e.Type == "" {
		e.Type = levelType(r.Level)
	}
	if f.stack != "" {
		if e.Detail != "" {
			e.Detail += "\n"
		}
		e.Detail += f.stack
	}
	if len(f.attrs) > 0 || f.sentence != nil {
		e.Attrs = make(map[string]string, len(f.attrs)+1)
		for _, a := range f.attrs {
			e.Attrs[a.key] = a.value
		}
	}
	if f.sentence != nil {
		e.Message = render(f.sentence, r.Message, f.attrs)
		e.Attrs[KeyMsg] = r.Message
	}
	h.log.Add(e)
	return nil
}

// levelType maps a level to an entry type.
func levelType(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return TypeException
	case l >= slog.LevelWarn:
		return TypeWarning
	case l >= slog.LevelInfo:
		return TypeInfo
	default:
		return TypeDebug
	}
}

// WithAttrs returns a handler whose records carry attrs.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = slices.Clip(h.attrs)
	for _, a := range attrs {
		h2.fields.collect(h.prefix, a, false)
	}
	return &h2
}

// WithGroup returns a handler that qualifies later attributes with name.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// collect records one attribute. nested is true inside a slog.Group value,
// where the special keys have no meaning.
func (f *fields) collect(prefix string, a slog.Attr, nested bool) {
	if s, ok := markOf(a.Value); ok {
		f.sentence = s
		return
	}
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		group := a.Value.Group()
		if len(group) == 0 {
			return
		}
		if a.Key != "" {
			prefix += a.Key + "."
			nested = true
		}
		for _, g := range group {
			f.collect(prefix, g, nested)
		}
		return
	}
	if !nested {
		switch a.Key {
		case KeyHub:
			if v := a.Value.String(); ValidID(v) || v == System {
				f.hub = v
				return
			}
			f.hub = ""
		case KeyType:
			if a.Value.Kind() == slog.KindString && ValidID(a.Value.String()) {
				f.typ = a.Value.String()
				return
			}
		case KeyDetail:
			f.detail = valueString(a.Value)
			return
		case KeyStack:
			f.stack = valueString(a.Value)
			return
		}
	}
	f.attrs = append(f.attrs, attr{key: prefix + a.Key, value: valueString(a.Value)})
}

func valueString(v slog.Value) string {
	if v.Kind() == slog.KindTime {
		return v.Time().UTC().Format(time.RFC3339Nano)
	}
	return v.String()
}
