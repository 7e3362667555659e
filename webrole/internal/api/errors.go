package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// Error is an error with an HTTP meaning. Handlers return it (or any error,
// which becomes a 500) through c.Error; the error middleware renders it as
// {"error":{"code","message","fields"}}.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// statusClientClosed is the status of a request whose client hung up
// before its answer (nginx's 499): nothing failed here, and nobody reads
// the answer.
const statusClientClosed = 499

// errorMiddleware renders the last error a handler recorded, once, and logs
// 5xx errors once. A request that ended because its client hung up is
// counted as 499, not as a failure.
func (s *Server) errorMiddleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		err := c.Errors.Last().Err
		if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
			c.Status(statusClientClosed)
			return
		}
		apiErr := classify(err)
		if apiErr == nil {
			s.deps.Logger.ErrorContext(c.Request.Context(), "request failed",
				"request_id", c.GetString(ctxRequestID), "route", c.FullPath(), "error", err.Error())
			apiErr = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the request id in the logs"}
		}
		c.JSON(apiErr.Status, errorBody{Error: errorDetail{Code: apiErr.Code, Message: apiErr.Message, Fields: apiErr.Fields}})
	}
}

// classify maps the sentinels and typed errors of the packages the API
// calls to HTTP errors, in one place; nil means an internal error.
func classify(err error) *Error {
	var apiErr *Error
	var ve *hub.ValidationError
	var limit *tablestore.LimitError
	var fe *render.FilterError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, outputs.ErrNoSuchHub):
		return errNoSuchHub
	case errors.Is(err, outputs.ErrNotPublished):
		return errNotPublished
	case errors.Is(err, outputs.ErrNoSuchFormat):
		return errNoSuchOutput()
	case errors.Is(err, outputs.ErrNoSuchEvent):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no event with this uid in the calendar (or in this view of it)"}
	case errors.Is(err, outputs.ErrBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "busy", Message: "too many views are being made; try again shortly"}
	case errors.Is(err, outputs.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the server is shutting down; try again shortly"}
	case errors.As(err, &fe):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: fe.Error(), Fields: map[string]string{fe.Param: fe.Reason}}
	case errors.As(err, &ve):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the request has invalid fields", Fields: ve.Fields}
	case errors.Is(err, tablestore.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such resource"}
	case errors.Is(err, tablestore.ErrExists):
		return &Error{Status: http.StatusConflict, Code: "exists", Message: "it already exists"}
	case errors.Is(err, tablestore.ErrChanged):
		return &Error{Status: http.StatusPreconditionFailed, Code: "changed", Message: "it changed since you read it; read it again"}
	case errors.As(err, &limit):
		return &Error{Status: http.StatusConflict, Code: "limit_reached", Message: fmt.Sprintf("at most %d %s", limit.Max, limit.What)}
	case errors.Is(err, tablelog.ErrInvalid), errors.Is(err, queue.ErrInvalid):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: err.Error()}
	}
	return nil
}

// recovery turns a panic into a JSON 500 and logs it with the stack.
func (s *Server) recovery() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		s.deps.Logger.ErrorContext(c.Request.Context(), "handler panicked",
			"request_id", c.GetString(ctxRequestID), "route", c.FullPath(), "error", fmt.Sprint(rec))
		c.AbortWithStatusJSON(http.StatusInternalServerError,
			errorBody{Error: errorDetail{Code: "internal", Message: "internal error; see the request id in the logs"}})
	})
}

// notFound and methodNotAllowed keep Gin's plain-text defaults out.
func notFound(c *gin.Context) {
	c.JSON(http.StatusNotFound, errorBody{Error: errorDetail{Code: "not_found", Message: "no such resource"}})
}

func methodNotAllowed(c *gin.Context) {
	c.JSON(http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed", Message: "method not allowed on this resource"}})
}
