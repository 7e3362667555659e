package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// bindJSON decodes the request body into v strictly: unknown fields, wrong
// types, trailing data and oversized bodies are 400s (413 for size) whose
// fields map names each problem. It replaces Gin's binding, whose
// unknown-field switch is a package global.
func bindJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
		}
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: "could not read the request body"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "a JSON body is required"}
	}
	return decodeJSON(body, v)
}

// bindMergePatch reads a JSON merge patch (RFC 7396) from the body and
// applies it to cur, the record's writable fields: fields left out of the
// patch keep their values, null removes one. The If-Match the request
// sent (etag, "" for none) must be the record's curETag, or it is a 412.
func bindMergePatch[T any](c *gin.Context, etag, curETag string, cur T) (T, error) {
	var out T
	if etag != "" && etag != "*" && etag != curETag {
		return out, tablestore.ErrChanged
	}
	doc, err := json.Marshal(cur)
	if err != nil {
		return out, err
	}
	var patch json.RawMessage
	if err := bindJSON(c, &patch); err != nil {
		return out, err
	}
	if t := bytes.TrimSpace(patch); len(t) == 0 || t[0] != '{' {
		return out, &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "a merge patch is a JSON object of the fields to change"}
	}
	merged, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return out, &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "the merge patch does not apply: " + err.Error()}
	}
	err = decodeJSON(merged, &out)
	return out, err
}

// decodeJSON decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "unexpected data after the JSON object"}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the request has invalid fields",
			Fields: map[string]string{field: "must be " + jsonKind(typ.Type.Kind().String())}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the request has invalid fields",
			Fields: map[string]string{name: "unknown field"}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "truncated JSON"}
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "malformed JSON"}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}

// maxIfMatchBytes bounds the If-Match header; the store's ETags are about
// 50 bytes.
const maxIfMatchBytes = 256

// entityTag is one RFC 9110 entity-tag: an optional W/ and a quoted
// string of visible ASCII characters other than '"' (obs-text left out).
var entityTag = regexp.MustCompile(`^(W/)?"[\x21\x23-\x7E]*"$`)

// bindIfMatch returns the request's If-Match: "" when there is none, "*",
// or one entity-tag. Anything else is a 400 naming the header; a
// well-formed ETag that is not the current one is the store's 412.
// errNoIfMatch answers a PUT that would replace an existing record
// without saying which version it replaces: a client that sends only the
// fields it means to change would erase the others.
var errNoIfMatch = &Error{Status: http.StatusPreconditionRequired, Code: "precondition_required",
	Message: "PUT replaces the whole record: send If-Match with the ETag a GET returned, or PATCH only the fields to change"}

func bindIfMatch(c *gin.Context) (string, error) {
	v := strings.TrimSpace(c.GetHeader("If-Match"))
	bad := func(why string) error {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the If-Match header is not an ETag this API returned",
			Fields: map[string]string{"If-Match": why}}
	}
	switch {
	case v == "" || v == "*":
		return v, nil
	case len(v) > maxIfMatchBytes:
		return "", bad(fmt.Sprintf("at most %d bytes", maxIfMatchBytes))
	case !entityTag.MatchString(v):
		return "", bad(`must be one ETag as a read returned it, such as W/"datetime'...'", or *`)
	}
	return v, nil
}

// Page sizes of the list routes, which take limit and after and answer
// next (empty on the last page).
const (
	defaultPageLimit = tablestore.DefaultPageLimit
	maxPageLimit     = tablestore.MaxPageLimit
	maxAfterBytes    = 100
)

// page is what a list request asks for: up to limit items after the
// after of the previous answer.
type page struct {
	after string
	limit int
}

// bindPage reads limit (1 to maxPageLimit, default defaultPageLimit) and
// after; a bad value is a 400 naming it. The store checks that after is
// one of its tokens.
func bindPage(c *gin.Context) (page, error) {
	p := page{after: c.Query("after"), limit: defaultPageLimit}
	fields := map[string]string{}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			fields["limit"] = fmt.Sprintf("must be a whole number from 1 to %d", maxPageLimit)
		}
		p.limit = n
	}
	if len(p.after) > maxAfterBytes {
		fields["after"] = errBadAfter.Fields["after"]
	}
	if len(fields) > 0 {
		return page{}, &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "invalid query parameters", Fields: fields}
	}
	return p, nil
}

// errBadAfter answers an after that no page returned.
var errBadAfter = &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "invalid query parameters",
	Fields: map[string]string{"after": "not a page token from a previous answer"}}
