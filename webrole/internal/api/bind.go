package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
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
