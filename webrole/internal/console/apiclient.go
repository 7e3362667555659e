package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// maxAnswerBytes bounds what one in-process API answer may hold; the
// API's own pages and limits keep real answers far below it.
const maxAnswerBytes = 16 << 20

// apiError is an API answer other than 2xx: the API's error body.
type apiError struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
}

func (e *apiError) Error() string { return fmt.Sprintf("api %d %s: %s", e.Status, e.Code, e.Message) }

// answer is an in-memory http.ResponseWriter for one API call.
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
	over   bool
}

func (a *answer) Header() http.Header { return a.header }
func (a *answer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}
func (a *answer) Write(p []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.body.Len()+len(p) > maxAnswerBytes {
		a.over = true
		return 0, errors.New("console: API answer too large")
	}
	return a.body.Write(p)
}

// call sends one API request in process as the session's principal and
// decodes a 2xx answer's JSON into out (unless nil). ifMatch, when set,
// is sent as If-Match. An answer other than 2xx is an *apiError.
func (h *handler) call(c *gin.Context, method, path string, in any, ifMatch string, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.Request.Context(), method, path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	if id := c.GetString(ctxRequestID); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	req.RemoteAddr = c.Request.RemoteAddr
	a := &answer{header: http.Header{}}
	h.api(a, req, sess(c).Principal)
	if a.over {
		return nil, fmt.Errorf("%s %s: answer over %d bytes", method, path, maxAnswerBytes)
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.status < 200 || a.status > 299 {
		var eb struct {
			Error struct {
				Code    string            `json:"code"`
				Message string            `json:"message"`
				Fields  map[string]string `json:"fields"`
			} `json:"error"`
		}
		_ = json.Unmarshal(a.body.Bytes(), &eb)
		return a.header, &apiError{Status: a.status, Code: eb.Error.Code, Message: eb.Error.Message, Fields: eb.Error.Fields}
	}
	if out != nil && a.body.Len() > 0 {
		if err := json.Unmarshal(a.body.Bytes(), out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return a.header, nil
}

// apiStatus is the status of an *apiError, or 0.
func apiStatus(err error) int {
	if ae, ok := errors.AsType[*apiError](err); ok {
		return ae.Status
	}
	return 0
}

// failAPI answers an API error from a page read: the API's 403 and 404
// say what they say (a hub that is not the principal's reads as no
// access, whether or not it exists), anything else is a failure.
func (h *handler) failAPI(c *gin.Context, err error) {
	ae, ok := errors.AsType[*apiError](err)
	switch {
	case ok && ae.Status == http.StatusForbidden:
		h.refuse(c.Writer, c.Request, http.StatusForbidden, "You do not have access to that. "+ae.Message+".")
	case ok && ae.Status == http.StatusNotFound:
		h.refuse(c.Writer, c.Request, http.StatusNotFound, "That was not found: it may have been removed.")
	case ok && ae.Status < 500:
		h.refuse(c.Writer, c.Request, ae.Status, ae.Message)
	default:
		h.fail(c, err)
	}
}
