package tablelog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// KeyMsg is the Attrs key under which an entry whose Message was rendered
// by a Sentence keeps the record's own message: the stable key the stdout
// log shows, for grouping and searching entries.
const KeyMsg = "msg"

// Sentence writes the Message curators read for a record, from the
// record's attributes: the entry's Attrs as strings, groups flattened as
// "group.key", secret-looking values already redacted. The hub and the
// special keys (type, detail, stack) are not among them. It must not
// keep or change attrs.
type Sentence func(attrs map[string]string) string

// Sentences maps a log message, a constant such as "feed failed", to the
// Sentence that renders it for the table log.
type Sentences map[string]Sentence

// WithSentences returns a handler that passes every record to h, marking
// those whose message has a Sentence in one of sets. A table log handler
// (Log.Handler) anywhere under h, such as one branch of a
// slog.NewMultiHandler, then writes the rendered sentence as the entry's
// Message and keeps the message itself in Attrs under KeyMsg; other
// handlers see nothing of the mark, so the stdout log keeps the constant
// message and its attributes. A message in two sets is a programming error
// and panics.
func WithSentences(h slog.Handler, sets ...Sentences) slog.Handler {
	all := Sentences{}
	for _, s := range sets {
		for msg, f := range s {
			if _, dup := all[msg]; dup {
				panic(fmt.Sprintf("tablelog.WithSentences: two sentences for message %q", msg))
			}
			if f == nil {
				panic(fmt.Sprintf("tablelog.WithSentences: nil sentence for message %q", msg))
			}
			all[msg] = f
		}
	}
	return &sentenceHandler{next: h, sentences: all}
}

// sentenceHandler is the handler WithSentences returns.
type sentenceHandler struct {
	next      slog.Handler
	sentences Sentences
}

var _ slog.Handler = (*sentenceHandler)(nil)

// Enabled reports what the wrapped handler does.
func (h *sentenceHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle marks r when its message has a sentence and passes it on.
func (h *sentenceHandler) Handle(ctx context.Context, r slog.Record) error {
	if f, ok := h.sentences[r.Message]; ok {
		r.AddAttrs(slog.Any("", sentenceMark{f}))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a handler that adds attrs through the wrapped handler.
func (h *sentenceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sentenceHandler{next: h.next.WithAttrs(attrs), sentences: h.sentences}
}

// WithGroup returns a handler that opens a group in the wrapped handler.
func (h *sentenceHandler) WithGroup(name string) slog.Handler {
	return &sentenceHandler{next: h.next.WithGroup(name), sentences: h.sentences}
}

// sentenceMark carries a record's Sentence to the table handler. It
// resolves to an empty group, which slog's handlers leave out, so only the
// table handler, which looks before resolving, sees it.
type sentenceMark struct{ f Sentence }

// LogValue is an empty group.
func (sentenceMark) LogValue() slog.Value { return slog.GroupValue() }

// markOf returns the Sentence v carries, if it is a mark.
func markOf(v slog.Value) (Sentence, bool) {
	if v.Kind() != slog.KindLogValuer {
		return nil, false
	}
	m, ok := v.Any().(sentenceMark)
	return m.f, ok
}

// render returns the entry's Message from f, or msg when f panics, so that a
// broken sentence costs its wording, not the entry or the caller.
func render(f Sentence, msg string, attrs []attr) (out string) {
	view := make(map[string]string, len(attrs))
	for _, a := range attrs {
		v := a.value
		if secretKey(a.key) {
			v = Redacted
		}
		view[a.key] = v
	}
	defer func() {
		if recover() != nil {
			out = msg
		}
	}()
	if s := f(view); s != "" {
		return s
	}
	return msg
}

// Template returns a Sentence that fills pattern's "{key}" placeholders
// with the values of those attributes; a missing attribute leaves its
// placeholder as it is, so the gap shows. "{{" and "}}" stand for literal
// braces. A malformed pattern (an unclosed or empty placeholder, a lone
// "}") is a programming error and panics.
func Template(pattern string) Sentence {
	type part struct {
		text string
		key  bool
	}
	var parts []part
	var lit strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '{' && i+1 < len(pattern) && pattern[i+1] == '{', c == '}' && i+1 < len(pattern) && pattern[i+1] == '}':
			lit.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(pattern[i+1:], '}')
			if end <= 0 || strings.ContainsAny(pattern[i+1:i+1+end], "{ ") {
				panic(fmt.Sprintf("tablelog.Template: malformed placeholder at byte %d of %q", i, pattern))
			}
			parts = append(parts, part{text: lit.String()})
			lit.Reset()
			parts = append(parts, part{text: pattern[i+1 : i+1+end], key: true})
			i += end + 1
		case c == '}':
			panic(fmt.Sprintf("tablelog.Template: lone '}' at byte %d of %q", i, pattern))
		default:
			lit.WriteByte(c)
		}
	}
	parts = append(parts, part{text: lit.String()})
	return func(attrs map[string]string) string {
		var b strings.Builder
		for _, p := range parts {
			switch v, ok := attrs[p.text]; {
			case !p.key:
				b.WriteString(p.text)
			case ok:
				b.WriteString(v)
			default:
				b.WriteString("{" + p.text + "}")
			}
		}
		return b.String()
	}
}
