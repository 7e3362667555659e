package feedkind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readJSON reads an array of objects (the document, or the array at
// Mapping.Path) through the Mapping: an object per event. The array's
// elements are decoded one at a time, so a huge array costs what the
// elements read (Options.MaxItems) cost.
func (c *converter) readJSON(data []byte) error {
	data = trimBOM(data)
	if depth, _ := scanJSON(data); depth > c.opt.MaxDepth {
		return fmt.Errorf("JSON nested deeper than %d: %w", c.opt.MaxDepth, ErrInvalidInput)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var path []string
	if c.m.Path != "" {
		path = strings.Split(c.m.Path, ".")
	}
	for i, key := range path {
		at := strings.Join(path[:i], ".")
		if err := jsonDescend(dec, key); err != nil {
			if at == "" {
				at = "the top level"
			}
			return fmt.Errorf("path %q at %s: %w", c.m.Path, at, err)
		}
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %v: %w", err, ErrInvalidInput)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		what := "a value"
		if ok && d == '{' {
			what = "an object (set path to the array's member)"
		}
		where := "the document"
		if c.m.Path != "" {
			where = "path " + c.m.Path
		}
		return fmt.Errorf("%s is %s, not an array: %w", where, what, ErrInvalidInput)
	}
	for n := 1; dec.More(); n++ {
		where := fmt.Sprintf("item %d", n)
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				if !c.next() {
					break
				}
				c.skip(where, "not an object")
				continue
			}
			return fmt.Errorf("invalid JSON at %s: %v: %w", where, err, ErrInvalidInput)
		}
		if !c.next() {
			break
		}
		if obj == nil {
			c.skip(where, "not an object")
			continue
		}
		c.emitRecord(where, nil, columns{}, func(name string) []string { return jsonField(obj, name) })
		if c.full {
			break
		}
	}
	return nil
}

// jsonDescend reads the object the decoder is at up to the member key.
func jsonDescend(dec *json.Decoder, key string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %v: %w", err, ErrInvalidInput)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("not an object: %w", ErrInvalidInput)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not JSON: %v: %w", err, ErrInvalidInput)
		}
		if k, _ := tok.(string); k == key {
			return nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("not JSON: %v: %w", err, ErrInvalidInput)
		}
	}
	return fmt.Errorf("no member %q: %w", key, ErrInvalidInput)
}

// jsonField returns the values of the member name (dotted for nested
// objects) as text: a string, a number or a boolean, or the scalar
// elements of an array (at most maxCategories).
func jsonField(obj map[string]json.RawMessage, name string) []string {
	parts := strings.Split(name, ".")
	raw, ok := jsonMember(obj, parts[0])
	for _, p := range parts[1:] {
		if !ok {
			return nil
		}
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) != nil {
			return nil
		}
		raw, ok = jsonMember(inner, p)
	}
	if !ok {
		return nil
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
		var out []string
		for _, v := range list {
			if s, ok := jsonScalar(v); ok && len(out) < maxCategories {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := jsonScalar(raw); ok {
		return []string{s}
	}
	return nil
}

// jsonMember looks a member up by its exact name, then ignoring case.
func jsonMember(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// jsonScalar reads a string, number or boolean as text.
func jsonScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	case c == 't', c == 'f':
		return string(raw), true
	case c == '-' || c >= '0' && c <= '9':
		return string(raw), true
	}
	return "", false
}
